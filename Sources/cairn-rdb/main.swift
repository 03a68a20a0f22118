print("cairn-rdb: not yet")
