/// The optimal assignment of a batch of rows (requests) to columns with capacities (slots
/// and their places): the most rows served, then the lowest total cost. Pure and generic:
/// the engine builds the rows' edges (`MatchingEngine.decidePending`), this only solves.
///
/// The method is the shortest augmenting path of the Hungarian method, row by row (Crouse's
/// form of Jonker–Volgenant, as in SciPy's `linear_sum_assignment`), on a sparse graph:
/// each row's search is a Dijkstra over reduced costs that stops at the first free place,
/// so a row whose cheapest place is free costs one pass over its own edges. Each row has a
/// private "unserved" place of cost `M`, larger than any difference of total cost between
/// two assignments, so that a perfect assignment of the rows of least total cost serves the
/// most rows first (lexicographic objective), and every row's search always ends.
public enum BatchAssignment {
    /// An eligible pair: the row may take a place of `column` at `cost` (never negative
    /// after the solver's shift; any finite value is accepted).
    public struct Edge: Sendable, Equatable {
        public var column: Int
        public var cost: Double

        public init(column: Int, cost: Double) {
            self.column = column
            self.cost = cost
        }
    }

    /// The column each row gets (`nil`: unserved), for rows whose edges are `rows[i]` and
    /// columns of `capacities[j]` places each. Rows marked in `servedFirst` come first: the
    /// answer serves the most of them, then the most rows, then at the least total cost.
    /// Deterministic: the same input gives the same answer.
    public static func solve(rows: [[Edge]], capacities: [Int], servedFirst: [Bool] = []) -> [Int?] {
        let rowCount = rows.count
        guard rowCount > 0 else { return [] }
        // Places: column j has `min(capacity, rows that reach it)` consecutive places.
        var reach = [Int](repeating: 0, count: capacities.count)
        var minCost = Double.infinity
        var maxCost = -Double.infinity
        for edges in rows {
            for e in edges {
                reach[e.column] += 1
                minCost = min(minCost, e.cost)
                maxCost = max(maxCost, e.cost)
            }
        }
        guard minCost.isFinite else { return Array(repeating: nil, count: rowCount) }
        var firstPlace = [Int](repeating: 0, count: capacities.count + 1)
        for j in capacities.indices { firstPlace[j + 1] = firstPlace[j] + max(0, min(capacities[j], reach[j])) }
        let realPlaces = firstPlace[capacities.count]
        let placeCount = realPlaces + rowCount  // then one private "unserved" place per row
        var placeColumn = [Int](repeating: -1, count: realPlaces)
        for j in capacities.indices {
            for p in firstPlace[j]..<firstPlace[j + 1] { placeColumn[p] = j }
        }
        // Serving one row more must outweigh any saving of cost: M > rows × (max − min); one
        // row of `servedFirst` more, any change in the others: (rows + 1) × M.
        let unserved = Double(rowCount) * (maxCost - minCost) + 1
        let unservedFirst = Double(rowCount + 1) * unserved
        // Row edges as (place, shifted cost), all places of a column.
        var adjacency: [[(place: Int, cost: Double)]] = rows.map { edges in
            var list: [(place: Int, cost: Double)] = []
            list.reserveCapacity(edges.count)
            for e in edges {
                for p in firstPlace[e.column]..<firstPlace[e.column + 1] { list.append((p, e.cost - minCost)) }
            }
            return list
        }
        for i in 0..<rowCount {
            let first = i < servedFirst.count && servedFirst[i]
            adjacency[i].append((realPlaces + i, first ? unservedFirst : unserved))
        }

        var u = [Double](repeating: 0, count: rowCount)
        var v = [Double](repeating: 0, count: placeCount)
        var rowForPlace = [Int](repeating: -1, count: placeCount)
        var placeForRow = [Int](repeating: -1, count: rowCount)
        var distance = [Double](repeating: .infinity, count: placeCount)
        var via = [Int](repeating: -1, count: placeCount)
        var scanned = [Bool](repeating: false, count: placeCount)
        var touched: [Int] = []
        var scannedPlaces: [Int] = []
        var scannedRows: [Int] = []
        var heap = BinaryHeap<Entry>()

        for current in 0..<rowCount {
            var minValue = 0.0
            var i = current
            var sink = -1
            while sink < 0 {
                scannedRows.append(i)
                for (p, c) in adjacency[i] where !scanned[p] {
                    let r = minValue + c - u[i] - v[p]
                    if r < distance[p] {
                        if distance[p] == .infinity { touched.append(p) }
                        distance[p] = r
                        via[p] = i
                        heap.push(.init(distance: r, occupied: rowForPlace[p] >= 0, place: p))
                    }
                }
                // The current row's own unserved place is always on the heap: it never empties.
                var next = heap.pop()!
                while scanned[next.place] || next.distance != distance[next.place] { next = heap.pop()! }
                let p = next.place
                minValue = distance[p]
                scanned[p] = true
                scannedPlaces.append(p)
                if rowForPlace[p] < 0 { sink = p } else { i = rowForPlace[p] }
            }
            // Dual update (Crouse 2016): keeps reduced costs non-negative and zero on the
            // assignment, for the places and rows this search finalised.
            u[current] += minValue
            for r in scannedRows where r != current { u[r] += minValue - distance[placeForRow[r]] }
            for p in scannedPlaces { v[p] -= minValue - distance[p] }
            // Augment along the path back to the current row.
            var p = sink
            while true {
                let r = via[p]
                rowForPlace[p] = r
                let previous = placeForRow[r]
                placeForRow[r] = p
                if r == current { break }
                p = previous
            }
            for p in touched {
                distance[p] = .infinity
                scanned[p] = false
            }
            touched.removeAll(keepingCapacity: true)
            scannedPlaces.removeAll(keepingCapacity: true)
            scannedRows.removeAll(keepingCapacity: true)
            heap.removeAll()
        }
        return placeForRow.map { $0 < realPlaces ? placeColumn[$0] : nil }
    }

    /// A tentative distance: least first, a free place before an occupied one at the same
    /// distance (it ends the search), then the smaller place.
    struct Entry: Comparable, Sendable {
        var distance: Double
        var occupied: Bool
        var place: Int

        static func < (a: Entry, b: Entry) -> Bool {
            if a.distance != b.distance { return a.distance < b.distance }
            if a.occupied != b.occupied { return !a.occupied }
            return a.place < b.place
        }
    }
}
