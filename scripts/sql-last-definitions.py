#!/usr/bin/env python3
"""sql-last-definitions.py - the definition in force of every SQL function and
view the versioned migrations create: for each, the text of the last migration
that (re)defines it, with its comment paragraph and any later ALTER FUNCTION
... SET, so it can be moved into sql/ unchanged.

  scripts/sql-last-definitions.py [--list] [NAME ...]   (migrations/*.sql)

--list prints one line per function or view: identity, defining migration,
later ALTERs, or 'dropped'. Otherwise prints the definitions (of NAMEs, or all)
as CREATE OR REPLACE statements, in migration order.
"""
import glob
import os
import re
import sys


def split_statements(text):
    """[(leading_text, statement_text)] at top-level semicolons, aware of
    quotes, dollar quotes and comments."""
    out, i, start, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('--', i):
            j = text.find('\n', i)
            i = n if j < 0 else j + 1
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            i = n if j < 0 else j + 2
        elif c == "'":
            i += 1
            while i < n:
                if text[i] == "'" and i + 1 < n and text[i + 1] == "'":
                    i += 2
                elif text[i] == "'":
                    i += 1
                    break
                else:
                    i += 1
        elif c == '"':
            j = text.find('"', i + 1)
            i = n if j < 0 else j + 1
        elif c == '$':
            m = re.match(r'\$([A-Za-z_][A-Za-z_0-9]*)?\$', text[i:])
            if m:
                tag = m.group(0)
                j = text.find(tag, i + len(tag))
                i = n if j < 0 else j + len(tag)
            else:
                i += 1
        elif c == ';':
            out.append(text[start:i + 1])
            start = i + 1
            i += 1
        else:
            i += 1
    if text[start:].strip():
        out.append(text[start:])
    return out


def leading_split(chunk):
    """(the comment paragraph directly above the statement, the statement)."""
    lines = chunk.split('\n')
    body = 0
    while body < len(lines) and (lines[body].strip() == '' or lines[body].lstrip().startswith('--')):
        body += 1
    para = body
    while para > 0 and lines[para - 1].lstrip().startswith('--'):
        para -= 1
    return '\n'.join(lines[para:body]), '\n'.join(lines[body:])


def strip_comments(s):
    return re.sub(r'--[^\n]*', '', s)


def arg_types(args):
    """Identity argument types of a parameter list (OUT ones left out)."""
    parts, depth, cur = [], 0, ''
    for ch in args:
        if ch == '(':
            depth += 1
        elif ch == ')':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    types = []
    for p in parts:
        p = re.split(r'\s+(DEFAULT\s|=)', p.strip(), maxsplit=1, flags=re.I)[0].strip()
        toks = p.split()
        mode = 'IN'
        if toks and toks[0].upper() in ('IN', 'OUT', 'INOUT', 'VARIADIC'):
            mode = toks[0].upper()
            toks = toks[1:]
        if mode == 'OUT':
            continue
        if len(toks) >= 2:
            toks = toks[1:]  # a name, then the type
        types.append(' '.join(toks).lower())
    return ','.join(types)


FUNC = re.compile(r'^\s*CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)\s+([A-Za-z_0-9.]+)\s*\(', re.I)
VIEW = re.compile(r'^\s*CREATE\s+(OR\s+REPLACE\s+)?VIEW\s+([A-Za-z_0-9.]+)', re.I)
ALTER = re.compile(r'^\s*ALTER\s+(FUNCTION|PROCEDURE)\s+([A-Za-z_0-9.]+)\s*\(([^)]*)\)', re.I)
DROPF = re.compile(r'^\s*DROP\s+(FUNCTION|PROCEDURE)\s+(IF\s+EXISTS\s+)?([A-Za-z_0-9.]+)\s*\(([^)]*)\)', re.I)
DROPV = re.compile(r'^\s*DROP\s+VIEW\s+(IF\s+EXISTS\s+)?([A-Za-z_0-9.]+)', re.I)


def paren_args(stmt, open_at):
    depth, i = 0, open_at
    while i < len(stmt):
        if stmt[i] == '(':
            depth += 1
        elif stmt[i] == ')':
            depth -= 1
            if depth == 0:
                return stmt[open_at + 1:i]
        i += 1
    raise ValueError('unbalanced parameter list')


def history(defs, ident, f):
    """Every migration that defined or altered ident, f included."""
    h = list(defs[ident]['history']) if ident in defs else []
    if f not in h:
        h.append(f)
    return h


def scan(files):
    defs = {}   # identity -> dict(kind, file, comment, text, alters, order, dropped)
    order = 0
    for f in files:
        text = open(f, encoding='utf-8').read()
        for chunk in split_statements(text):
            comment, stmt = leading_split(chunk)
            code = strip_comments(stmt)
            order += 1
            m = FUNC.match(code)
            if m:
                name = m.group(3).lower()
                args = paren_args(code, m.end() - 1)
                ident = '%s(%s)' % (name, arg_types(args))
                defs[ident] = dict(kind='function', file=f, comment=comment, text=stmt.strip(), alters=[],
                                   order=order, dropped=None, history=history(defs, ident, f))
                continue
            m = VIEW.match(code)
            if m:
                ident = m.group(2).lower()
                defs[ident] = dict(kind='view', file=f, comment=comment, text=stmt.strip(), alters=[],
                                   order=order, dropped=None, history=history(defs, ident, f))
                continue
            m = ALTER.match(code)
            if m:
                ident = '%s(%s)' % (m.group(2).lower(), ','.join(t.strip().lower() for t in m.group(3).split(',') if t.strip()))
                if ident not in defs:
                    sys.exit('%s: ALTER of unknown function %s' % (f, ident))
                defs[ident]['alters'].append((f, comment, stmt.strip()))
                if f not in defs[ident]['history']:
                    defs[ident]['history'].append(f)
                continue
            m = DROPF.match(code)
            if m:
                ident = '%s(%s)' % (m.group(3).lower(), ','.join(t.strip().lower() for t in m.group(4).split(',') if t.strip()))
                if ident in defs:
                    defs[ident]['dropped'] = f
                continue
            m = DROPV.match(code)
            if m and m.group(2).lower() in defs:
                defs[m.group(2).lower()]['dropped'] = f
    return defs


def replaceable(text, kind):
    if kind == 'function':
        return re.sub(r'^CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)', lambda m: 'CREATE OR REPLACE ' + m.group(2).upper(),
                      text, count=1, flags=re.I)
    return re.sub(r'^CREATE\s+(OR\s+REPLACE\s+)?VIEW', 'CREATE OR REPLACE VIEW', text, count=1, flags=re.I)


def main():
    argv = sys.argv[1:]
    listing = '--list' in argv
    names = [a.lower() for a in argv if a != '--list']
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    files = sorted(glob.glob(os.path.join(root, 'migrations', '*.sql')))
    defs = scan(files)
    items = sorted(defs.items(), key=lambda kv: kv[1]['order'])
    for ident, d in items:
        if names and ident.split('(')[0] not in names and ident not in names:
            continue
        if listing:
            extra = ''.join(' +%s' % os.path.basename(a[0]) for a in d['alters'])
            print('%-45s %s%s%s' % (ident, ' '.join(os.path.basename(h)[:4] for h in d['history']) + ' -> ' +
                                   os.path.basename(d['file']), extra,
                                   ' dropped in %s' % os.path.basename(d['dropped']) if d['dropped'] else ''))
            continue
        if d['dropped']:
            continue
        out = ''
        if d['comment']:
            out += d['comment'] + '\n'
        out += replaceable(d['text'], d['kind']) + '\n'
        for (f, comment, stmt) in d['alters']:
            if comment:
                out += comment + '\n'
            out += stmt + '\n'
        print(out)


if __name__ == '__main__':
    main()
