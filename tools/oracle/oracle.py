#!/usr/bin/env python3
"""The offline oracle of snp-sim: the best assignment of a simulated week known in advance.

Reads an instance written by `snp-sim` (every (request, slot) pair that the engine's
own §4.1 rules allow, with its §4.2 cost), and solves, lexicographically:

  1. the most requests served within their deadline,
  2. among those, the least total cost: the pairs' costs plus the load term, where the
     k-th booking of a professional in an ISO week costs W_LOAD × (k − 1).

under the capacities: a request gets at most one slot, a slot at most its capacity, a
professional at most their weekly cap in an ISO week.

It is a minimum-cost flow (source → request → slot → professional-week → sink, the load
term as unit arcs of increasing cost from each professional-week to the sink), written as
a linear programme and solved with HiGHS through SciPy. The constraint matrix of a flow
is totally unimodular, so the simplex optimum is integral; this is checked, and a MILP
solve (scipy.optimize.milp) is the fallback if it ever is not.

Requests the regulator cancels are not in the flow: a cancelled request counts as served
(booked, §5) if some pair could have been booked before its cancellation, and its place
is assumed to go back to others (an optimistic bound). See README.md.

    python3 tools/oracle/oracle.py INSTANCE.json [--out RESULT.json] [--solver scipy|ortools]
"""

import argparse
import json
import sys
import time

import numpy as np


def load(path):
    with open(path) as f:
        return json.load(f)


def cancelled_served(inst, pr, ps):
    """For each cancelled request, the cheapest pair bookable before its cancellation."""
    created = np.asarray(inst["requests"]["created"], dtype=np.int64)
    cancel_at = np.asarray(inst["requests"]["cancel_at"], dtype=np.int64)
    start = np.asarray(inst["slots"]["start"], dtype=np.int64)
    published = np.asarray(inst["slots"]["published"], dtype=np.int64)
    lead = int(inst["lead_s"])
    cost = np.asarray(inst["pairs"]["cost"], dtype=float)
    cancelled = cancel_at[pr] >= 0
    bookable = cancelled & (
        np.maximum(created[pr], published[ps]) <= np.minimum(cancel_at[pr], start[ps] - lead)
    )
    best = {}
    for k in np.flatnonzero(bookable):
        r = int(pr[k])
        if r not in best or cost[k] < cost[best[r]]:
            best[r] = k
    return {r: int(ps[k]) for r, k in sorted(best.items())}


def flow_arrays(inst):
    """The firm pairs and the load increments of each professional-week."""
    cancel_at = np.asarray(inst["requests"]["cancel_at"], dtype=np.int64)
    pr = np.asarray(inst["pairs"]["r"], dtype=np.int64)
    ps = np.asarray(inst["pairs"]["s"], dtype=np.int64)
    pc = np.asarray(inst["pairs"]["cost"], dtype=float)
    firm = cancel_at[pr] < 0
    R, S, C = pr[firm], ps[firm], pc[firm]
    capacity = np.asarray(inst["slots"]["capacity"], dtype=np.int64)
    slot_pw = np.asarray(inst["slots"]["pro_week"], dtype=np.int64)
    caps = np.asarray(inst["pro_weeks"]["cap"], dtype=np.int64)
    # Increments of a professional-week: as many as it could ever take.
    used_slots = np.unique(S)
    room = np.zeros(len(caps), dtype=np.int64)
    np.add.at(room, slot_pw[used_slots], capacity[used_slots])
    limit = np.where(caps >= 0, np.minimum(caps, room), room)
    return pr, ps, R, S, C, capacity, slot_pw, limit


def solve_scipy(inst):
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp
    from scipy.sparse import coo_matrix, vstack

    pr, ps, R, S, C, capacity, slot_pw, limit = flow_arrays(inst)
    w_load = float(inst["w_load"])
    n = len(R)
    inc_pw = np.repeat(np.arange(len(limit)), limit)
    inc_k = np.concatenate([np.arange(l) for l in limit]) if len(limit) else np.zeros(0, dtype=np.int64)
    m = len(inc_pw)
    nv = n + m

    req_ids, req_row = np.unique(R, return_inverse=True)
    slot_ids, slot_row = np.unique(S, return_inverse=True)
    n_req, n_slot, n_pw = len(req_ids), len(slot_ids), len(limit)
    x_cols = np.arange(n)
    y_cols = n + np.arange(m)
    # Rows: requests (≤ 1), slots (≤ capacity), professional-weeks (Σx − Σy = 0).
    a_req = coo_matrix((np.ones(n), (req_row, x_cols)), shape=(n_req, nv))
    a_slot = coo_matrix((np.ones(n), (slot_row, x_cols)), shape=(n_slot, nv))
    a_pw = coo_matrix(
        (np.concatenate([np.ones(n), -np.ones(m)]), (np.concatenate([slot_pw[S], inc_pw]), np.concatenate([x_cols, y_cols]))),
        shape=(n_pw, nv),
    )
    a_ub = vstack([a_req, a_slot]).tocsr()
    b_ub = np.concatenate([np.ones(n_req), capacity[slot_ids].astype(float)])
    a_eq = a_pw.tocsr()
    b_eq = np.zeros(n_pw)
    bounds = (0, 1)
    timings = {}

    def lp(c, a_ub, b_ub):
        t = time.perf_counter()
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs-ds")
        return res, time.perf_counter() - t

    def integral(x):
        return x is not None and np.max(np.abs(x - np.round(x)), initial=0) < 1e-6

    def mip(c, a_ub, b_ub):
        t = time.perf_counter()
        cons = [LinearConstraint(a_ub, -np.inf, b_ub), LinearConstraint(a_eq, b_eq, b_eq)]
        res = milp(c, constraints=cons, integrality=np.ones(nv), bounds=Bounds(0, 1))
        return res, time.perf_counter() - t

    # Stage 1: the most requests served.
    c1 = np.concatenate([-np.ones(n), np.zeros(m)])
    res, timings["stage1_s"] = lp(c1, a_ub, b_ub)
    method = "linprog(highs-ds)"
    if res.status != 0:
        raise RuntimeError(f"stage 1: {res.message}")
    if not integral(res.x):
        res, timings["stage1_s"] = mip(c1, a_ub, b_ub)
        method = "milp"
    served = int(round(-res.fun))

    # Stage 2: the least cost among assignments serving that many.
    c2 = np.concatenate([C, w_load * inc_k.astype(float)])
    a_ub2 = vstack([a_ub, coo_matrix((-np.ones(n), (np.zeros(n, dtype=np.int64), x_cols)), shape=(1, nv))]).tocsr()
    b_ub2 = np.concatenate([b_ub, [-served]])
    res2, timings["stage2_s"] = lp(c2, a_ub2, b_ub2)
    if res2.status != 0:
        raise RuntimeError(f"stage 2: {res2.message}")
    if not integral(res2.x):
        res2, timings["stage2_s"] = mip(c2, a_ub2, b_ub2)
        method = "milp"
    x = np.round(res2.x[:n]).astype(bool)
    chosen = np.flatnonzero(x)
    return {
        "solver": "scipy " + method,
        "served_firm": int(chosen.size),
        "cost": float(res2.fun),
        "assign_r": R[chosen].tolist(),
        "assign_s": S[chosen].tolist(),
        "timings": timings,
        "variables": int(nv),
    }


def solve_ortools(inst):
    """The same flow with OR-Tools' SimpleMinCostFlow, as a cross-check of the LP.

    Costs are integers (milli-units); the lexicographic order is made by a reward: serving
    a request earns BIG, more than the largest total cost could ever be. A bypass arc
    lets any request go unserved.
    """
    try:
        from ortools.graph.python import min_cost_flow
    except ImportError:
        sys.exit("oracle: --solver ortools needs OR-Tools (pip install ortools); the default solver, scipy, does not")
    pr, ps, R, S, C, capacity, slot_pw, limit = flow_arrays(inst)
    w_load = float(inst["w_load"])
    scale = 1000
    t = time.perf_counter()
    req_ids, req_row = np.unique(R, return_inverse=True)
    slot_ids, slot_row = np.unique(S, return_inverse=True)
    costs_int = np.round(C * scale).astype(np.int64)
    load_max = int(round(w_load * scale * max(int(limit.max(initial=0)), 1)))
    big = int(len(req_ids) * (int(costs_int.max(initial=0)) + load_max) + 1)
    source, sink = 0, 1
    req0 = 2
    slot0 = req0 + len(req_ids)
    pw0 = slot0 + len(slot_ids)
    tails, heads, caps, costs = [], [], [], []

    def arc(a, b, cap, cost):
        tails.append(a)
        heads.append(b)
        caps.append(cap)
        costs.append(cost)

    for i in range(len(req_ids)):
        arc(source, req0 + i, 1, -big)
    pair0 = len(tails)
    for k in range(len(R)):
        arc(req0 + int(req_row[k]), slot0 + int(slot_row[k]), 1, int(costs_int[k]))
    for j, s in enumerate(slot_ids):
        arc(slot0 + j, pw0 + int(slot_pw[s]), int(capacity[s]), 0)
    for w, l in enumerate(limit):
        for k in range(int(l)):
            arc(pw0 + w, sink, 1, int(round(w_load * k * scale)))
    arc(source, sink, len(req_ids), 0)
    f = min_cost_flow.SimpleMinCostFlow()
    f.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32), np.array(heads, dtype=np.int32), np.array(caps, dtype=np.int64),
        np.array(costs, dtype=np.int64),
    )
    f.set_node_supply(source, len(req_ids))
    f.set_node_supply(sink, -len(req_ids))
    status = f.solve()
    if status != f.OPTIMAL:
        raise RuntimeError(f"OR-Tools min cost flow status {status}")
    chosen = [k for k in range(len(R)) if f.flow(pair0 + k) > 0]
    x = np.zeros(len(R), dtype=bool)
    x[chosen] = True
    inc = sum(f.flow(a) * costs[a] for a in range(pair0 + len(R) + len(slot_ids), len(tails) - 1))
    return {
        "solver": "ortools SimpleMinCostFlow",
        "served_firm": len(chosen),
        "cost": (float(costs_int[x].sum()) + inc) / scale,
        "assign_r": [int(R[k]) for k in chosen],
        "assign_s": [int(S[k]) for k in chosen],
        "timings": {"solve_s": time.perf_counter() - t},
        "variables": len(tails),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("instance")
    ap.add_argument("--out", help="where to write the result (JSON); default: standard output")
    ap.add_argument("--solver", choices=["scipy", "ortools"], default="scipy")
    args = ap.parse_args()
    inst = load(args.instance)
    t = time.perf_counter()
    result = solve_ortools(inst) if args.solver == "ortools" else solve_scipy(inst)
    pr = np.asarray(inst["pairs"]["r"], dtype=np.int64)
    ps = np.asarray(inst["pairs"]["s"], dtype=np.int64)
    cancelled = cancelled_served(inst, pr, ps)
    result["cancelled_served_r"] = list(cancelled.keys())
    result["cancelled_served_s"] = list(cancelled.values())
    result["requests"] = len(inst["requests"]["created"])
    result["pairs"] = len(pr)
    result["elapsed_s"] = time.perf_counter() - t
    text = json.dumps(result)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        print(text)
    firm = sum(1 for c in inst["requests"]["cancel_at"] if c < 0)
    print(
        f"oracle {inst['scenario']}/{inst['arrival']} seed {inst['seed']}: {result['served_firm']}/{firm} firm requests "
        f"served, cost {result['cost']:.1f}, {len(cancelled)} cancelled ones bookable before cancellation; "
        f"{result['pairs']} pairs, {result['solver']}, {result['elapsed_s']:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
