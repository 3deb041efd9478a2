/**
 * The part of OData's `$filter` grammar Graph clients use: comparisons,
 * and/or/not, parentheses, string functions and `any`/`all` lambdas. One
 * parse gives the checker the property paths to look up in the CSDL and the
 * stand-in an expression to evaluate on its stored objects.
 */

export type FilterExpr =
  | { k: 'and' | 'or'; l: FilterExpr; r: FilterExpr }
  | { k: 'not'; e: FilterExpr }
  | { k: 'cmp'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; l: FilterExpr; r: FilterExpr }
  | { k: 'path'; segments: string[] }
  | { k: 'lit'; value: string | number | boolean | null }
  | { k: 'lambda'; path: string[]; fn: 'any' | 'all'; variable: string | null; body: FilterExpr | null }
  | { k: 'call'; fn: string; args: FilterExpr[] };

export class FilterSyntaxError extends Error {
  readonly code = 'FILTER_SYNTAX';
}

type Token = { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'sym'; v: string };

const FUNCTIONS = new Set(['startswith', 'endswith', 'contains', 'tolower', 'toupper', 'length', 'indexof', 'trim']);
const COMPARISONS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new FilterSyntaxError(`unterminated string in $filter: ${text}`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ t: 'str', v: value });
    } else if ('()/,:'.includes(c)) {
      tokens.push({ t: 'sym', v: c });
      i++;
    } else {
      const rest = text.slice(i);
      // GUID and date literals are bare in OData v4 and start with digits
      const literal = GUID.exec(rest) ?? DATETIME.exec(rest);
      if (literal) {
        tokens.push({ t: 'str', v: literal[0] });
        i += literal[0].length;
        continue;
      }
      const number = /^-?\d+(\.\d+)?/.exec(rest);
      if (number) {
        tokens.push({ t: 'num', v: Number(number[0]) });
        i += number[0].length;
        continue;
      }
      const id = /^[A-Za-z_@$][\w.@$-]*/.exec(rest);
      if (!id) throw new FilterSyntaxError(`unexpected "${c}" in $filter: ${text}`);
      tokens.push({ t: 'id', v: id[0] });
      i += id[0].length;
    }
  }
  return tokens;
}

export function parseFilter(text: string): FilterExpr {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isSym = (v: string) => peek()?.t === 'sym' && peek()?.v === v;
  const isWord = (v: string) => {
    const t = peek();
    return t?.t === 'id' && t.v.toLowerCase() === v;
  };
  const expect = (v: string) => {
    if (!isSym(v)) throw new FilterSyntaxError(`expected "${v}" at token ${pos} of $filter: ${text}`);
    pos++;
  };

  function or(): FilterExpr {
    let l = and();
    while (isWord('or')) {
      pos++;
      l = { k: 'or', l, r: and() };
    }
    return l;
  }
  function and(): FilterExpr {
    let l = unary();
    while (isWord('and')) {
      pos++;
      l = { k: 'and', l, r: unary() };
    }
    return l;
  }
  function unary(): FilterExpr {
    if (isWord('not')) {
      pos++;
      return { k: 'not', e: unary() };
    }
    const l = operand();
    const op = peek();
    if (op?.t === 'id' && COMPARISONS.has(op.v.toLowerCase())) {
      pos++;
      return { k: 'cmp', op: op.v.toLowerCase() as 'eq', l, r: operand() };
    }
    return l;
  }
  function operand(): FilterExpr {
    const token = tokens[pos++];
    if (!token) throw new FilterSyntaxError(`$filter ends early: ${text}`);
    if (token.t === 'sym' && token.v === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (token.t === 'str' || token.t === 'num') return { k: 'lit', value: token.v };
    if (token.t !== 'id') throw new FilterSyntaxError(`unexpected "${token.v}" in $filter: ${text}`);
    const word = token.v.toLowerCase();
    if (word === 'true' || word === 'false') return { k: 'lit', value: word === 'true' };
    if (word === 'null') return { k: 'lit', value: null };
    if (FUNCTIONS.has(word) && isSym('(')) {
      pos++;
      const args: FilterExpr[] = [];
      while (!isSym(')')) {
        args.push(or());
        if (isSym(',')) pos++;
      }
      pos++;
      return { k: 'call', fn: word, args };
    }
    const segments = [token.v];
    while (isSym('/')) {
      pos++;
      const next = tokens[pos++];
      if (next?.t !== 'id') throw new FilterSyntaxError(`expected a property name after "/" in $filter: ${text}`);
      const fn = next.v.toLowerCase();
      if ((fn === 'any' || fn === 'all') && isSym('(')) {
        pos++;
        if (isSym(')')) {
          pos++;
          return { k: 'lambda', path: segments, fn, variable: null, body: null };
        }
        const variable = tokens[pos++];
        if (variable?.t !== 'id') throw new FilterSyntaxError(`expected a lambda variable in $filter: ${text}`);
        expect(':');
        const body = or();
        expect(')');
        return { k: 'lambda', path: segments, fn, variable: variable.v, body };
      }
      segments.push(next.v);
    }
    return { k: 'path', segments };
  }

  const expr = or();
  if (pos !== tokens.length) throw new FilterSyntaxError(`unexpected text after position ${pos} of $filter: ${text}`);
  return expr;
}

/** Every property path the expression names, each with the lambda variables in scope (innermost first). */
export function propertyPaths(expr: FilterExpr): { segments: string[]; scope: { variable: string; path: string[] }[] }[] {
  const out: { segments: string[]; scope: { variable: string; path: string[] }[] }[] = [];
  const walk = (e: FilterExpr, scope: { variable: string; path: string[] }[]) => {
    switch (e.k) {
      case 'and':
      case 'or':
      case 'cmp':
        walk(e.l, scope);
        walk(e.r, scope);
        return;
      case 'not':
        walk(e.e, scope);
        return;
      case 'path':
        out.push({ segments: e.segments, scope });
        return;
      case 'lambda':
        out.push({ segments: e.path, scope });
        if (e.body && e.variable) walk(e.body, [{ variable: e.variable, path: e.path }, ...scope]);
        return;
      case 'call':
        for (const a of e.args) walk(a, scope);
        return;
      case 'lit':
        return;
    }
  };
  walk(expr, []);
  return out;
}

type Value = unknown;

function lower(v: Value): Value {
  return typeof v === 'string' ? v.toLowerCase() : v;
}

/** Directory string comparisons are case-insensitive (addresses, UPNs). */
export function evaluateFilter(expr: FilterExpr, item: Record<string, unknown>): boolean {
  return Boolean(evaluate(expr, item, new Map()));
}

function evaluate(e: FilterExpr, item: Record<string, unknown>, vars: Map<string, unknown>): Value {
  switch (e.k) {
    case 'and':
      return Boolean(evaluate(e.l, item, vars)) && Boolean(evaluate(e.r, item, vars));
    case 'or':
      return Boolean(evaluate(e.l, item, vars)) || Boolean(evaluate(e.r, item, vars));
    case 'not':
      return !evaluate(e.e, item, vars);
    case 'lit':
      return e.value;
    case 'path':
      return resolve(e.segments, item, vars);
    case 'cmp': {
      const l = lower(evaluate(e.l, item, vars));
      const r = lower(evaluate(e.r, item, vars));
      switch (e.op) {
        case 'eq':
          return l === r;
        case 'ne':
          return l !== r;
        case 'gt':
          return (l as number) > (r as number);
        case 'ge':
          return (l as number) >= (r as number);
        case 'lt':
          return (l as number) < (r as number);
        case 'le':
          return (l as number) <= (r as number);
      }
      return false;
    }
    case 'lambda': {
      const collection = resolve(e.path, item, vars);
      if (!Array.isArray(collection)) return false;
      if (!e.body || !e.variable) return collection.length > 0;
      const test = (el: unknown) => Boolean(evaluate(e.body as FilterExpr, item, new Map(vars).set(e.variable as string, el)));
      return e.fn === 'any' ? collection.some(test) : collection.every(test);
    }
    case 'call': {
      const [a, b] = e.args.map((x) => lower(evaluate(x, item, vars)));
      switch (e.fn) {
        case 'startswith':
          return typeof a === 'string' && typeof b === 'string' && a.startsWith(b);
        case 'endswith':
          return typeof a === 'string' && typeof b === 'string' && a.endsWith(b);
        case 'contains':
          return typeof a === 'string' && typeof b === 'string' && a.includes(b);
        case 'tolower':
        case 'toupper':
          return a;
        default:
          throw new FilterSyntaxError(`the stand-in does not evaluate ${e.fn}()`);
      }
    }
  }
}

function resolve(segments: string[], item: Record<string, unknown>, vars: Map<string, unknown>): Value {
  let value: unknown = vars.has(segments[0]) ? vars.get(segments[0]) : item[segments[0]];
  for (const s of segments.slice(1))
    value = value === null || typeof value !== 'object' ? undefined : (value as Record<string, unknown>)[s];
  return value ?? null;
}
