// Commands that need the server rather than the engine: INFO and SHUTDOWN (CONFIG lives with the
// config table).
#if canImport(Glibc)
import Glibc
#endif
import Engine

extension CairnServer {
    func registerServerCommands() {
        engine.hooks.info = { [unowned self] sections in self.infoText(sections) }
        engine.register([
            CommandSpec("info", arity: -1, flags: [.loading, .stale]) { [unowned self] ctx in
                let sections = (1 ..< ctx.argc).map { String(decoding: ctx.args[$0], as: UTF8.self) }
                ctx.verbatim(Array(self.infoText(sections).utf8))
            },
            CommandSpec("shutdown", arity: -1, flags: [.admin, .noScript, .loading, .stale, .noMulti]) { [unowned self] ctx in
                for i in 1 ..< ctx.argc {
                    guard ["NOSAVE", "SAVE", "NOW", "FORCE", "ABORT"].contains(ctx.option(i)) else {
                        ctx.syntaxError()
                        return
                    }
                }
                let opts = Set((1 ..< ctx.argc).map { ctx.option($0) })
                if opts.contains("ABORT") {
                    guard ctx.argc == 2 else { ctx.syntaxError(); return }
                    if self.abortShutdown() { ctx.ok() } else { ctx.error("ERR No shutdown in progress.") }
                    return
                }
                if opts.contains("SAVE") && opts.contains("NOSAVE") { ctx.syntaxError(); return }
                let save: Bool? = opts.contains("NOSAVE") ? false : opts.contains("SAVE") ? true : nil
                self.shutdownCommand(ctx, ShutdownRequest(save: save, now: opts.contains("NOW"), force: opts.contains("FORCE")))
            },
        ])
        engine.register(configCommands(config))
        engine.register([migrateSpec])
    }
}
