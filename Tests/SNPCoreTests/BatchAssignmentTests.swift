import Foundation
import SNPCore
import SNPSimulation
import Testing

/// `BatchAssignment` against brute force: the most rows served, then the least total cost.
@Suite struct BatchAssignmentTests {
    /// (served, total cost) of the best assignment, by trying every choice of every row.
    static func bruteForce(
        rows: [[BatchAssignment.Edge]], capacities: [Int], first: [Bool]
    ) -> (first: Int, served: Int, cost: Double) {
        var left = capacities
        var best = (first: -1, served: -1, cost: Double.infinity)
        func visit(_ i: Int, firstServed: Int, served: Int, cost: Double) {
            if i == rows.count {
                if (firstServed, served, -cost) > (best.first, best.served, -best.cost) { best = (firstServed, served, cost) }
                return
            }
            visit(i + 1, firstServed: firstServed, served: served, cost: cost)
            for e in rows[i] where left[e.column] > 0 {
                left[e.column] -= 1
                visit(i + 1, firstServed: firstServed + (first[i] ? 1 : 0), served: served + 1, cost: cost + e.cost)
                left[e.column] += 1
            }
        }
        visit(0, firstServed: 0, served: 0, cost: 0)
        return best
    }

    static func value(
        of answer: [Int?], rows: [[BatchAssignment.Edge]], capacities: [Int], first: [Bool]
    ) -> (first: Int, served: Int, cost: Double)? {
        var used = [Int](repeating: 0, count: capacities.count)
        var firstServed = 0
        var served = 0
        var cost = 0.0
        for (i, column) in answer.enumerated() {
            guard let column else { continue }
            guard let edge = rows[i].first(where: { $0.column == column }) else { return nil }  // not an eligible pair
            used[column] += 1
            if first[i] { firstServed += 1 }
            served += 1
            cost += edge.cost
        }
        guard zip(used, capacities).allSatisfy({ $0 <= $1 }) else { return nil }  // over capacity
        return (firstServed, served, cost)
    }

    @Test func matchesBruteForceOnSmallRandomInstances() {
        var g = SeededRandom(seed: 17)
        for round in 0..<3_000 {
            let rowCount = 1 + g.below(6)
            let columnCount = 1 + g.below(6)
            let capacities = (0..<columnCount).map { _ in g.below(4) == 0 ? 2 : 1 }
            let density = 1 + g.below(4)
            let rows: [[BatchAssignment.Edge]] = (0..<rowCount).map { _ in
                (0..<columnCount).compactMap { j in
                    // Integer costs, so that sums compare exactly and ties are frequent.
                    g.below(4) < density ? BatchAssignment.Edge(column: j, cost: Double(g.below(12))) : nil
                }
            }
            // Half the rounds with rows to serve first (the due requests of a batch).
            let first = (0..<rowCount).map { _ in round % 2 == 1 && g.below(2) == 0 }
            let answer = BatchAssignment.solve(rows: rows, capacities: capacities, servedFirst: first)
            let expected = Self.bruteForce(rows: rows, capacities: capacities, first: first)
            let got = Self.value(of: answer, rows: rows, capacities: capacities, first: first)
            let same = got.map { ($0.first, $0.served, $0.cost) == (expected.first, expected.served, expected.cost) } ?? false
            #expect(same, "round \(round): \(String(describing: got)) vs \(expected) for \(rows) \(capacities) \(first)")
            if !same { return }
        }
    }

    @Test func servingOneMoreRowBeatsAnyCost() {
        // Row 0 could take column 0 cheaply, but then row 1 (which has only column 0) is left out.
        let rows: [[BatchAssignment.Edge]] = [
            [.init(column: 0, cost: 0), .init(column: 1, cost: 1_000)],
            [.init(column: 0, cost: 5)],
        ]
        #expect(BatchAssignment.solve(rows: rows, capacities: [1, 1]) == [1, 0])
    }

    @Test func theCheaperRowGetsAContestedPlace() {
        // Only one place for two rows: the cheaper pair wins, whatever the order of rows.
        let rows: [[BatchAssignment.Edge]] = [[.init(column: 0, cost: 10)], [.init(column: 0, cost: 1)]]
        #expect(BatchAssignment.solve(rows: rows, capacities: [1]) == [nil, 0])
    }

    @Test func aRowToServeFirstWinsOverACheaperOne() {
        let rows: [[BatchAssignment.Edge]] = [[.init(column: 0, cost: 9)], [.init(column: 0, cost: 0)]]
        #expect(BatchAssignment.solve(rows: rows, capacities: [1]) == [nil, 0])
        #expect(BatchAssignment.solve(rows: rows, capacities: [1], servedFirst: [true, false]) == [0, nil])
    }

    @Test func rowsWithoutEdgesAreUnserved() {
        #expect(BatchAssignment.solve(rows: [[], []], capacities: [1]) == [nil, nil])
        #expect(BatchAssignment.solve(rows: [], capacities: []) == [])
    }
}

extension SeededRandom {
    /// A number in 0..<n, as the instances were first drawn (the same instances as then).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
