import Foundation
import Synchronization
import XCTest
@testable import SeedModel

/// The pool must run each index of a job exactly once and return only when all are done, however
/// quickly jobs follow each other and whether its workers are spinning or asleep.
final class ThreadPoolTests: XCTestCase {
    /// Per-index hit counts plus an atomic total: a duplicated index shows as a count of 2, or,
    /// if two runs of it raced on the plain counter, as a total above n.
    private final class Tally: @unchecked Sendable {
        let hits: UnsafeMutableBufferPointer<Int>
        let total = Atomic<Int>(0)

        init(capacity: Int) {
            hits = .allocate(capacity: capacity)
            hits.initialize(repeating: 0)
        }

        deinit { hits.deallocate() }

        func record(_ i: Int) {
            hits[i] += 1
            total.add(1, ordering: .relaxed)
        }

        func reset(_ n: Int) {
            for i in 0..<n { hits[i] = 0 }
            total.store(0, ordering: .relaxed)
        }

        /// Whether indices 0..<n ran exactly once each (and nothing else ran).
        func exactlyOnce(_ n: Int) -> Bool {
            total.load(ordering: .relaxed) == n && (0..<n).allSatisfy { hits[$0] == 1 }
        }
    }

    func testRunExecutesEveryIndexOnce() {
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threads: threads)
            XCTAssertEqual(pool.threads, threads)
            let tally = Tally(capacity: 1000)
            for n in [0, 1, 2, 3, 1000] {
                for rep in 0..<30 {
                    tally.reset(1000)
                    pool.run(n) { tally.record($0) }
                    XCTAssertTrue(tally.exactlyOnce(n), "threads \(threads) n \(n) rep \(rep)")
                }
            }
        }
    }

    func testManySmallJobsInARow() {
        // Back-to-back jobs are where a worker still finishing job k can meet job k+1's
        // arguments; the sizes cycle so that some jobs have fewer indices than threads.
        let pool = ThreadPool(threads: 2)
        let tally = Tally(capacity: 8)
        let sizes = [2, 3, 1, 5, 2, 8, 0, 2, 4]
        var failures = 0
        for job in 0..<10_000 {
            let n = sizes[job % sizes.count]
            tally.reset(8)
            pool.run(n) { tally.record($0) }
            if !tally.exactlyOnce(n) { failures += 1 }
        }
        XCTAssertEqual(failures, 0)
    }

    func testJobsStillRunAfterWorkersFallAsleep() {
        let pool = ThreadPool(threads: 3)
        let tally = Tally(capacity: 64)
        for round in 0..<4 {
            // Longer than the workers spin (a few milliseconds), so they are asleep on the
            // condition variable and must be woken by the next job.
            Thread.sleep(forTimeInterval: 0.06)
            tally.reset(64)
            pool.run(64) { tally.record($0) }
            XCTAssertTrue(tally.exactlyOnce(64), "round \(round)")
        }
    }

    func testRunWaitsForEveryIndex() {
        // An index that is slow to finish must still be done when run returns.
        let pool = ThreadPool(threads: 2)
        let done = Atomic<Int>(0)
        pool.run(4) { i in
            if i % 2 == 0 { Thread.sleep(forTimeInterval: 0.005) }
            done.add(1, ordering: .releasing)
        }
        XCTAssertEqual(done.load(ordering: .acquiring), 4)
    }

    func testPoolsComeAndGo() {
        // Destroying a pool must join its workers whether they spin or sleep.
        for i in 0..<20 {
            let pool = ThreadPool(threads: 2)
            if i % 5 == 0 { Thread.sleep(forTimeInterval: 0.02) }
            let tally = Tally(capacity: 3)
            pool.run(3) { tally.record($0) }
            XCTAssertTrue(tally.exactlyOnce(3))
        }
    }

    func testChunksCoverTheRangeExactly() {
        for threads in [1, 2, 3, 5] {
            let pool = ThreadPool(threads: threads)
            for total in [0, 1, 2, 3, 7, 16, 17, 100, 1001, 4096] {
                for granule in [1, 2, 3, 4, 16, 64] {
                    let context = "threads \(threads) total \(total) granule \(granule)"
                    let ranges = Mutex<[Range<Int>]>([])
                    pool.chunks(total, granule: granule) { r in ranges.withLock { $0.append(r) } }
                    let sorted = ranges.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
                    XCTAssertLessThanOrEqual(sorted.count, threads, context)
                    var next = 0
                    for r in sorted {
                        XCTAssertEqual(r.lowerBound, next, "\(context): gap or overlap at \(r)")
                        XCTAssertFalse(r.isEmpty, context)
                        XCTAssertEqual(r.lowerBound % granule, 0, "\(context): \(r) not on a granule")
                        next = r.upperBound
                    }
                    XCTAssertEqual(next, total, context)
                }
            }
        }
    }
}
