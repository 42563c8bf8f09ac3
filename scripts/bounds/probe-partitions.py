#!/usr/bin/env python3
"""Every two-way split of the national day's five regions: the lookahead across the cut
(smallest one-way delay, jitter's -10 % included) and the probe's speedup bounds on a night
half-hour and the peak's first five minutes. Needs a binary built with pdes-probe.patch
(scripts/bounds/README.md); run from that worktree.

    python3 scripts/bounds/probe-partitions.py [BIN]
"""
import itertools, subprocess, sys, tempfile
regions=["Beijing","Shanghai","Guangzhou","Chengdu","Urumqi"]
rtt={("Beijing","Shanghai"):28.6,("Beijing","Guangzhou"):50.6,("Beijing","Chengdu"):40.9,("Beijing","Urumqi"):64.6,
("Shanghai","Guangzhou"):32.5,("Shanghai","Chengdu"):44.5,("Shanghai","Urumqi"):87.6,("Guangzhou","Chengdu"):33.0,
("Guangzhou","Urumqi"):88.0,("Chengdu","Urumqi"):55.4}
nodes={"Beijing":19,"Shanghai":9,"Guangzhou":5,"Chengdu":8,"Urumqi":2}
def r(a,b): return rtt.get((a,b)) or rtt[(b,a)]
B=sys.argv[1] if len(sys.argv) > 1 else "target/quick/ledgersim"
runs=[("night30m",["--set","duration=30m"]),("peak5m",["--set",'start_time="09:00"',"--set","duration=5m"])]
seen=set()
OUT=tempfile.mkdtemp(prefix="probe-")  # overwritten by every run (--force)
for k in (1,2):
    for A in itertools.combinations(regions,k):
        Bs=tuple(x for x in regions if x not in A)
        key=frozenset([A,Bs])
        if key in seen: continue
        seen.add(key)
        L=min(r(a,b) for a in A for b in Bs)/2*0.9
        row=[",".join(A), f"{sum(nodes[a] for a in A)}|{sum(nodes[b] for b in Bs)}", f"{L:.2f}ms"]
        for name,args in runs:
            out=subprocess.run([B,"run","scenarios/national-day.toml",*args,"--threads","1","--quiet","--force","--out",OUT],
               env={"LEDGERSIM_PROBE":",".join(A),"LEDGERSIM_PROBE_L_NS":str(int(L*1e6)),"PATH":"/usr/bin:/bin"},capture_output=True,text=True).stderr
            m=[l for l in out.splitlines() if l.startswith("PROBE system=1")][0]
            a=[l for l in out.splitlines() if l.startswith("PROBE-ASYNC system=1")][0]
            d=dict(kv.split("=") for kv in m.split()[1:])
            d.update(kv.split("=") for kv in a.split()[1:])
            row.append(f"{name}: barrier {float(d['speedup_bound']):.3f} async {float(d['speedup_bound_async']):.3f} cross {int(d['cross'])/int(d['events']):.2f}")
        print(" | ".join(row), flush=True)
