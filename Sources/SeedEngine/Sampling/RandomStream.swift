import SeedModel

/// A seeded random number generator (xoshiro256**, seeded through SplitMix64). Each request
/// draws from its own stream, derived from the run's seed and the request's tag, so its result
/// does not depend on what else runs beside it.
public struct RandomStream: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64, stream: UInt64 = 0) {
        var seeder = SplitMix64(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        s = (seeder.next(), seeder.next(), seeder.next(), seeder.next())
    }

    /// A stream for a string tag (FNV-1a of its UTF-8 bytes).
    public init(seed: UInt64, tag: String) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in tag.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        self.init(seed: seed, stream: h)
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// A uniform float in [0, 1) with 24 random bits.
    public mutating func nextUnit() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }
}
