#!/usr/bin/env python3
"""Fails when src/ has an import cycle between modules (docs/ARCHITECTURE.md, rules of the house).

    scripts/check-module-cycles.py [SRC] [top|file]

`top` compares top-level modules (`ingest`, `store`, ...); `file` compares every file's module
(`store::ingest`, `evidence::digest`, ...), where a file may use its parent but not form a loop
with siblings. References are `crate::…` paths (brace groups expanded) and `super::…` paths,
outside `#[cfg(test)]` modules. Prints each cycle with its edges.

With `top`, it also checks the layering rules of docs/ARCHITECTURE.md: no pipeline stage imports
the settings step, the pipeline library, the configuration, the CLI or a command; and no stage
before the outputs imports an output (report, evidence, store).
"""
import re, os, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'src'
level = sys.argv[2] if len(sys.argv) > 2 else 'top'
def modname(path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] == 'mod': rel = rel[:-1]
    if rel == ['lib'] or rel == ['main']: return None
    return rel
mods = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p = os.path.join(d, f); m = modname(p)
            if m: mods['::'.join(m)] = open(p).read()
names = set(mods)
def key(m):
    parts = m.split('::')
    return parts[0] if level == 'top' else m
edges = {}
for m, text in mods.items():
    # strip #[cfg(test)] mod tests blocks roughly: cut from '#[cfg(test)]' to end
    i = text.find('#[cfg(test)]')
    if i >= 0: text = text[:i]
    text = re.sub(r'//[^\n]*', '', text)
    refs = set()
    paths = re.findall(r'crate::((?:\w+::)*\w+)', text)
    for mt in re.finditer(r'crate::((?:\w+::)*)\{', text):
        depth = 0; j = mt.end() - 1; start = j
        while True:
            if text[j] == '{': depth += 1
            elif text[j] == '}':
                depth -= 1
                if depth == 0: break
            j += 1
        inner = text[start+1:j]
        # flatten one level of nesting: a::{b, c} -> a::b, a::c
        def expand(prefix, body):
            out = []; depth = 0; cur = ''
            for ch in body + ',':
                if ch == '{': depth += 1
                if ch == '}': depth -= 1
                if ch == ',' and depth == 0:
                    cur = cur.strip()
                    if '{' in cur:
                        p, rest = cur.split('{', 1)
                        out += expand(prefix + p, rest.rsplit('}', 1)[0])
                    elif cur:
                        out.append(prefix + cur.split(' as ')[0].strip())
                    cur = ''
                else: cur += ch
            return out
        paths += [p for p in expand(mt.group(1), inner)]
    for grp in paths:
        parts = grp.split('::')
        # longest prefix that is a module
        for n in range(len(parts), 0, -1):
            cand = '::'.join(parts[:n])
            if cand in names: refs.add(cand); break
    # super:: references
    for grp in re.findall(r'\bsuper::((?:\w+::)*\w+)', text):
        base = m.split('::')
        parent = base[:-1]
        parts = grp.split('::')
        for n in range(len(parts), -1, -1):
            cand = '::'.join(parent + parts[:n])
            if cand in names: refs.add(cand); break
    a = key(m)
    for r in refs:
        b = key(r)
        if a != b and not (level != 'top' and (b.startswith(a + '::'))):
            edges.setdefault(a, set()).add(b)
# Tarjan
index = {}; low = {}; st = []; on = set(); sccs = []; c = [0]
sys.setrecursionlimit(10000)
def sc(v):
    index[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(sorted(comp))
for v in sorted(set(edges) | {k for s in edges.values() for k in s}):
    if v not in index: sc(v)
ABOVE_STAGES = {'settings', 'pipeline', 'config', 'cli', 'commands'}
OUTPUTS = {'report', 'evidence', 'store'}
BEFORE_OUTPUTS = {'aws', 'errors', 'hash', 'atomic', 'window', 'exit', 'decode', 'policy', 'catalog', 'observe',
                  'source', 'attribute', 'synth', 'map', 'stats', 'aggregate', 'dedup', 'diff',
                  'ingest', 'lookup', 'partials'}
broken = []
if level == 'top':
    for a, bs in sorted(edges.items()):
        for b in sorted(bs):
            if a not in ABOVE_STAGES and b in ABOVE_STAGES:
                broken.append(f'{a} -> {b}: a stage imports the layer that drives it')
            if a in BEFORE_OUTPUTS and b in OUTPUTS:
                broken.append(f'{a} -> {b}: a stage imports an output')
for line in broken:
    print('layering:', line)
for s in sccs:
    print('cycle:', ' '.join(s))
    for a in s:
        print('   ', a, '->', ' '.join(sorted(b for b in edges.get(a, ()) if b in s)))
sys.exit(1 if sccs or broken else 0)
