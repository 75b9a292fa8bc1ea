import CKernels
import CBLAS

/// The compute threads of the process: the caller plus `threads - 1` workers that spin briefly
/// between jobs. Every parallel loop of the forward pass runs here, and OpenBLAS is kept on one
/// thread and called from inside these loops, so the two never oversubscribe the cores.
/// A class because it owns threads.
public final class ThreadPool: @unchecked Sendable {
    private let pool: OpaquePointer?
    public let threads: Int

    public init(threads: Int) {
        let pool = sf_pool_create(Int32(max(1, threads)))
        self.pool = pool
        self.threads = Int(sf_pool_threads(pool))
        openblas_set_num_threads(1)
    }

    deinit { sf_pool_destroy(pool) }

    /// Runs `body(i)` for every i in 0..<count, spread over the pool, and returns when all are done.
    public func run(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        if count == 1 || threads == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            withUnsafePointer(to: escaping) { context in
                sf_pool_run(pool, { ctx, index in
                    ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                }, UnsafeMutableRawPointer(mutating: context), count)
            }
        }
    }

    /// Splits 0..<total into one contiguous chunk per thread (multiples of `granule`).
    public func chunks(_ total: Int, granule: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(threads, (total + granule - 1) / granule))
        run(parts) { i in
            let r = Self.chunk(i, of: total, parts: parts, granule: granule)
            if !r.isEmpty { body(r) }
        }
    }

    /// Chunk `i` of 0..<total split into `parts` contiguous chunks of a multiple of `granule`
    /// (the last ones may be short or empty).
    public static func chunk(_ i: Int, of total: Int, parts: Int, granule: Int = 1) -> Range<Int> {
        let per = ((total + parts - 1) / parts + granule - 1) / granule * granule
        let lo = min(total, i * per)
        return lo..<min(total, lo + per)
    }

    /// The default: one thread per core, as seen by the process.
    public static let defaultThreads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

import Foundation
