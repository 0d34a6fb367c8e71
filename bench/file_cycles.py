#!/usr/bin/env python3
"""Cycles between source files, from the objects a build linked.

A file A depends on a file B when A's object uses a symbol B's object
defines (nm: undefined in A, defined in B). Files that depend on each other,
directly or around a loop, form one strongly connected component; every
component of two or more files is a cycle. Run by hand on a build tree:

    bench/file_cycles.py build/aarch64            # the service VM image
    bench/file_cycles.py build/aarch64 --show     # ... and name the files

Prints the number of object files, dependency edges, and the cycles.
"""
import argparse
import os
import subprocess
import sys


def objects(build):
    for root, _dirs, files in os.walk(build):
        for f in files:
            if f.endswith((".o", ".obj")) and "CMakeFiles" in root and "tests" not in root:
                yield os.path.join(root, f)


def symbols(nm, path):
    out = subprocess.run([nm, path], capture_output=True, text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRC":
            defined.add(parts[2])
    return defined, used


def sccs(nodes, edges):
    """Tarjan, iterative."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(edges[w])))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--nm", default=None, help="nm to use (default: aarch64-linux-gnu-nm "
                    "for an aarch64 tree, else nm)")
    ap.add_argument("--show", action="store_true")
    a = ap.parse_args()
    nm = a.nm or ("aarch64-linux-gnu-nm" if "aarch64" in a.build else "nm")
    objs = sorted(objects(a.build))
    if not objs:
        sys.exit("no objects under " + a.build)
    name = {o: os.path.basename(o).rsplit(".", 2)[0] for o in objs}
    syms = {o: symbols(nm, o) for o in objs}
    owner = {}
    for o, (d, _u) in syms.items():
        for s in d:
            owner.setdefault(s, o)
    edges = {o: sorted({owner[s] for s in syms[o][1] if s in owner and owner[s] != o})
             for o in objs}
    cycles = [c for c in sccs(objs, edges) if len(c) > 1]
    print("objects %d, edges %d, cycles %d (files in cycles: %d)" % (
        len(objs), sum(len(e) for e in edges.values()), len(cycles), sum(len(c) for c in cycles)))
    if a.show:
        for c in cycles:
            print("  cycle: " + " <-> ".join(sorted(name[o] for o in c)))


if __name__ == "__main__":
    main()
