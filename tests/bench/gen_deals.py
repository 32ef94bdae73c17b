#!/usr/bin/env python3
"""gen_deals.py - deterministic (seeded) open deals for the snapshot benchmark.

    gen_deals.py OUTDIR N [SEED]

Writes OUTDIR/base_NNNN.json: N open deals in batches of 1,000 (the body of
POST /v1/deals/batch), and OUTDIR/change_NNNN.json: what happens before the
second snapshot, so the diff has every kind of change to find: 10% of the
deals change amount, 5% move a stage forward, 5% push their close date a
quarter, 2% are won, 2% are lost, 1% change owner, and N/100 new deals.
The same N and SEED always give the same files.
"""
import json
import os
import random
import sys

STAGES = ["sql", "opportunity", "proposal"]
BATCH = 1000


def deal(i, rng):
    return {"id": f"bd{i:07d}", "name": f"Bench deal {i}", "amount": rng.randint(10, 2000) * 50,
            "stage": rng.choice(STAGES), "owner": f"rep{rng.randrange(200):03d}",
            "expected_close_date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "created_at": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z"}


def write_batches(outdir, prefix, items):
    for k in range(0, len(items), BATCH):
        with open(os.path.join(outdir, f"{prefix}_{k // BATCH:04d}.json"), "w") as f:
            json.dump({"items": items[k:k + BATCH]}, f, separators=(",", ":"))


def main():
    outdir, n = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261128)
    base = [deal(i, rng) for i in range(n)]
    write_batches(outdir, "base", base)
    changes = []
    for d in base:
        u = rng.random()
        c = dict(d)
        if u < 0.10:
            c["amount"] = d["amount"] + rng.randint(-5, 20) * 50
        elif u < 0.15:
            c["stage"] = STAGES[min(STAGES.index(d["stage"]) + 1, len(STAGES) - 1)]
        elif u < 0.20:
            y, m, day = (int(x) for x in d["expected_close_date"].split("-"))
            m += 3
            if m > 12:
                y, m = y + 1, m - 12
            c["expected_close_date"] = f"{y}-{m:02d}-{day:02d}"
        elif u < 0.22:
            c["stage"], c["closed_at"] = "closed_won", "2026-11-20T12:00:00Z"
        elif u < 0.24:
            c["stage"], c["closed_at"] = "closed_lost", "2026-11-20T12:00:00Z"
        elif u < 0.25:
            c["owner"] = f"rep{(int(d['owner'][3:]) + 1) % 200:03d}"
        else:
            continue
        changes.append(c)
    changes += [deal(n + i, rng) for i in range(n // 100)]
    write_batches(outdir, "change", changes)


if __name__ == "__main__":
    main()
