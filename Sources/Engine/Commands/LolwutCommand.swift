// LOLWUT [VERSION v] [args...]: Redis's art command. Redis 7.0 without a version (or with one it has
// no art for) answers only its version line; VERSION 5 and 6 draw. Cairn draws its own picture, a
// cairn of stones whose size follows the arguments, and ends with the credit line Redis 7.0.15 prints
// for that version, so clients that look at the last line see what they expect.
import StorageFormat

public enum LolwutCommand {
    static let version = "7.0.15"

    public static var spec: CommandSpec {
        CommandSpec("lolwut", arity: -1, flags: [.readonly, .fast]) { ctx in
            var args = Array(ctx.args.dropFirst())
            var major = 7
            if args.count >= 2 && ctx.option(1) == "VERSION" {
                guard let v = ctx.integerArgument(2) else { return }
                // Redis formats the number as unsigned ("%u.0.0") before looking at its first digits.
                major = Int(UInt32(truncatingIfNeeded: v))
                args.removeFirst(2)
            }
            switch major {
            case 5: draw(ctx, args, credit: "Georg Nees - schotter, plotter on paper, 1968. Redis ver. \(version)\n")
            case 6: draw(ctx, args, credit: "Dedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. \(version)\n")
            default: ctx.verbatim(Array("Redis ver. \(version)\n".utf8))
            }
        }
    }

    /// The picture: `args` are [width [stones]] (integers, clamped), then a blank line and the credit.
    static func draw(_ ctx: CommandContext, _ args: [[UInt8]], credit: String) {
        var numbers: [Int] = []
        for a in args.prefix(2) {
            guard let v = StrictInteger.parse(a) else { ctx.error(RedisError.notInteger); return }
            numbers.append(Int(v))
        }
        let width = min(max(numbers.count > 0 ? numbers[0] : 66, 12), 400)
        let stones = min(max(numbers.count > 1 ? numbers[1] : 6, 1), 40)
        // Stones from the top pebble down to the widest at the base, centred, alternating textures.
        var text = ""
        let base = width - 2
        for row in 0 ..< stones {
            let stoneWidth = max(2, base * (row + 1) / stones)
            let pad = (width - stoneWidth - 2) / 2
            text += String(repeating: " ", count: pad) + "(" + String(repeating: row % 2 == 0 ? "_" : "=", count: stoneWidth) + ")\n"
        }
        ctx.verbatim(Array((text + "\n" + credit).utf8))
    }
}
