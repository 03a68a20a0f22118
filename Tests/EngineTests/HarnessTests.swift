import Testing
@testable import Engine
import TestSupport

@Suite struct HarnessTests {
    @Test func unknownCommandAndArityErrorsMatchRedis() throws {
        let h = EngineHarness()
        #expect(h.run("NOSUCHCMD a b") == "-ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' \r\n")
        try #require(RedisOracle.available)
        try compareWithRedis("""
        NOSUCHCMD a b
        nosuch
        """)
    }
}
