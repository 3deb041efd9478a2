/**
 * Checks one Graph request or response against the CSDL: the URL's path
 * (entity sets, keys, properties, navigation, bound actions and functions),
 * its query options ($select, $filter, $expand, $orderby property names) and
 * the JSON body (every property, its type, enum members, nested complex
 * types; an action's parameters). What it reports is a list of violations;
 * the stand-in answers 400 to a request with any and records them all.
 *
 * Stricter than OData on one point, as the real service is: `user` and other
 * types are declared OpenType, yet Graph refuses a property it does not know,
 * so dynamic properties are violations here too.
 */
import { findBoundOperation, findProperty, isA, type CsdlModel, type CsdlOperation } from './csdl';
import { FilterSyntaxError, parseFilter, propertyPaths } from './filter';

type Scope = { variable: string; path: string[] }[];

export interface TypeRef {
  type: string;
  collection: boolean;
}

/** Where a URL path leads: a collection or one entity of a type, a property value, or a bound operation. */
export type Resolved =
  { kind: 'resource'; ref: TypeRef } | { kind: 'operation'; operation: CsdlOperation } | { kind: 'special'; segment: string };

const PRIMITIVE_CHECKS: Record<string, (v: unknown) => boolean> = {
  'Edm.String': (v) => typeof v === 'string',
  'Edm.Boolean': (v) => typeof v === 'boolean',
  'Edm.Int16': Number.isInteger,
  'Edm.Int32': Number.isInteger,
  'Edm.Int64': Number.isInteger,
  'Edm.Byte': Number.isInteger,
  'Edm.SByte': Number.isInteger,
  'Edm.Double': (v) => typeof v === 'number' || v === 'INF' || v === '-INF' || v === 'NaN',
  'Edm.Single': (v) => typeof v === 'number',
  'Edm.Decimal': (v) => typeof v === 'number',
  'Edm.Guid': (v) => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  'Edm.DateTimeOffset': (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
  'Edm.Date': (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v),
  'Edm.TimeOfDay': (v) => typeof v === 'string' && /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v),
  'Edm.Duration': (v) => typeof v === 'string' && /^-?P/.test(v),
  'Edm.Binary': (v) => typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v),
  'Edm.Stream': () => true,
  'Edm.Untyped': () => true,
};

const QUERY_OPTIONS = new Set([
  '$select',
  '$filter',
  '$expand',
  '$orderby',
  '$top',
  '$skip',
  '$count',
  '$search',
  '$format',
  '$skiptoken',
  '$deltatoken',
]);

export class GraphChecker {
  constructor(readonly model: CsdlModel) {}

  /** Violations of a value of type `ref` at `where` (a JSON path for the message). */
  checkValue(ref: TypeRef, value: unknown, where: string): string[] {
    if (value === null || value === undefined) return [];
    if (ref.collection) {
      if (!Array.isArray(value)) return [`${where}: expected an array of ${ref.type}`];
      return value.flatMap((v, i) => this.checkValue({ type: ref.type, collection: false }, v, `${where}[${i}]`));
    }
    const primitive = PRIMITIVE_CHECKS[ref.type];
    if (primitive) return primitive(value) ? [] : [`${where}: ${JSON.stringify(value)} is not a valid ${ref.type}`];
    const members = this.model.enums.get(ref.type);
    if (members) {
      // flags enums are written as a comma-separated list of members
      const names = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : [];
      const unknown = typeof value === 'string' ? names.filter((n) => !members.has(n)) : [String(value)];
      return unknown.length === 0 ? [] : [`${where}: ${unknown.map((u) => JSON.stringify(u)).join(', ')} is not a member of ${ref.type}`];
    }
    if (!this.model.types.has(ref.type)) return [`${where}: the type ${ref.type} is not in Graph v1.0`];
    if (typeof value !== 'object' || Array.isArray(value)) return [`${where}: expected an object of type ${ref.type}`];
    return this.checkObject(ref.type, value as Record<string, unknown>, where);
  }

  private checkObject(declared: string, obj: Record<string, unknown>, where: string): string[] {
    const problems: string[] = [];
    let type = declared;
    const cast = obj['@odata.type'];
    if (typeof cast === 'string') {
      const named = cast.replace(/^#/, '');
      if (!this.model.types.has(named)) return [`${where}: @odata.type ${cast} is not a type of Graph v1.0`];
      if (!isA(this.model, named, declared)) return [`${where}: @odata.type ${cast} does not derive from ${declared}`];
      type = named;
    }
    for (const [key, value] of Object.entries(obj)) {
      const at = key.indexOf('@');
      if (at === 0) continue; // an instance annotation (@odata.context, @odata.nextLink, …)
      const name = at > 0 ? key.slice(0, at) : key;
      const property = findProperty(this.model, type, name);
      if (!property) {
        problems.push(`${where}.${name}: ${type} has no property "${name}"`);
        continue;
      }
      if (at > 0) continue; // a property annotation (`members@odata.bind`, …): its name was the check
      problems.push(...this.checkValue(property, value, `${where}.${name}`));
    }
    return problems;
  }

  /** Resolves the path after `/v1.0/`; a segment Graph would not know is a violation. */
  resolvePath(segments: string[]): { resolved: Resolved | null; problems: string[] } {
    const [first, ...rest] = segments;
    const root = first === undefined ? undefined : this.model.roots.get(first);
    if (!root) return { resolved: null, problems: [`/${first ?? ''}: Graph v1.0 has no entity set or singleton "${first ?? ''}"`] };
    let ref: TypeRef = { ...root };
    let path = `/${first}`;
    for (let i = 0; i < rest.length; i++) {
      const segment = rest[i];
      path += `/${segment}`;
      if (segment.startsWith('$')) {
        if (['$count', '$value', '$ref'].includes(segment)) return { resolved: { kind: 'special', segment }, problems: [] };
        return { resolved: null, problems: [`${path}: unknown segment ${segment}`] };
      }
      const name = segment.replace(/^microsoft\.graph\./, '');
      const operation = findBoundOperation(this.model, ref.type, ref.collection, name);
      if (operation) {
        if (i !== rest.length - 1)
          return { resolved: null, problems: [`${path}: nothing follows the ${operation.kind} ${name} in this stand-in`] };
        return { resolved: { kind: 'operation', operation }, problems: [] };
      }
      if (segment.startsWith('microsoft.graph.')) {
        if (!this.model.types.has(segment) || !isA(this.model, segment, ref.type)) {
          return { resolved: null, problems: [`${path}: ${segment} is neither a bound operation nor a type derived from ${ref.type}`] };
        }
        ref = { type: segment, collection: ref.collection };
        continue;
      }
      if (ref.collection) {
        ref = { type: ref.type, collection: false }; // a key
        continue;
      }
      const property = findProperty(this.model, ref.type, segment);
      if (!property)
        return { resolved: null, problems: [`${path}: ${ref.type} has no property, navigation property or bound operation "${segment}"`] };
      ref = { type: property.type, collection: property.collection };
    }
    return { resolved: { kind: 'resource', ref }, problems: [] };
  }

  /** Checks the query options against the type the path leads to. */
  checkQuery(ref: TypeRef, query: URLSearchParams): string[] {
    const problems: string[] = [];
    for (const [key, value] of query) {
      if (!key.startsWith('$')) continue;
      if (!QUERY_OPTIONS.has(key)) {
        problems.push(`${key}: not an OData query option Graph accepts`);
        continue;
      }
      problems.push(...this.checkOption(ref.type, key, value));
    }
    return problems;
  }

  private checkOption(type: string, key: string, value: string): string[] {
    switch (key) {
      case '$select':
        return value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '*' && !findProperty(this.model, type, s))
          .map((s) => `$select: ${type} has no property "${s}"`);
      case '$orderby':
        return value.split(',').flatMap((item) => this.checkPath(type, item.trim().split(/\s+/)[0].split('/'), [], '$orderby'));
      case '$filter':
        return this.checkFilter(type, value);
      case '$expand':
        return splitTopLevel(value, ',').flatMap((item) => {
          const open = item.indexOf('(');
          const name = (open < 0 ? item : item.slice(0, open)).trim();
          const property = findProperty(this.model, type, name);
          if (!property?.navigation) return [`$expand: ${type} has no navigation property "${name}"`];
          if (open < 0) return [];
          const nested = item.slice(open + 1, item.lastIndexOf(')'));
          return splitTopLevel(nested, ';').flatMap((option) => {
            const eq = option.indexOf('=');
            return this.checkOption(property.type, option.slice(0, eq).trim(), option.slice(eq + 1));
          });
        });
      case '$top':
      case '$skip':
        return /^\d+$/.test(value) ? [] : [`${key}: "${value}" is not a non-negative integer`];
      case '$count':
        return value === 'true' || value === 'false' ? [] : [`$count: "${value}" is neither true nor false`];
      default:
        return [];
    }
  }

  private checkFilter(type: string, text: string): string[] {
    try {
      const expr = parseFilter(text);
      return propertyPaths(expr).flatMap(({ segments, scope }) => this.checkPath(type, segments, scope, '$filter'));
    } catch (error) {
      if (error instanceof FilterSyntaxError) return [`$filter: ${error.message}`];
      throw error;
    }
  }

  private checkPath(type: string, segments: string[], scope: Scope, option: string): string[] {
    const walked = this.walk(type, segments, scope);
    return typeof walked === 'string' ? [`${option}: ${walked}`] : [];
  }

  /** The type a property path leads to, from `type` or from a lambda variable's element type; a string says why not. */
  private walk(type: string, segments: string[], scope: Scope): TypeRef | string {
    const index = scope.findIndex((s) => s.variable === segments[0]);
    let ref: TypeRef = { type, collection: false };
    let rest = segments;
    if (index >= 0) {
      const outer = this.walk(type, scope[index].path, scope.slice(index + 1));
      if (typeof outer === 'string') return outer;
      ref = { type: outer.type, collection: false };
      rest = segments.slice(1);
    }
    for (const segment of rest) {
      const property = this.model.types.has(ref.type) ? findProperty(this.model, ref.type, segment) : null;
      if (!property) return `${ref.type} has no property "${segment}" (in ${segments.join('/')})`;
      ref = { type: property.type, collection: property.collection };
    }
    return ref;
  }

  /** An action's JSON body: only its declared parameters, each of its type; non-nullable ones present. */
  checkActionBody(operation: CsdlOperation, body: unknown): string[] {
    if (operation.kind === 'function') return body === undefined ? [] : [`${operation.name} is a function: it takes no body`];
    if (operation.parameters.size === 0 && (body === undefined || body === null)) return [];
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return [`${operation.name}: the body must be a JSON object of its parameters`];
    const problems: string[] = [];
    for (const [name, value] of Object.entries(body)) {
      const parameter = operation.parameters.get(name);
      if (!parameter)
        problems.push(`${operation.name}: no parameter "${name}" (it takes ${[...operation.parameters.keys()].join(', ') || 'none'})`);
      else problems.push(...this.checkValue(parameter, value, `${operation.name}.${name}`));
    }
    for (const [name, parameter] of operation.parameters) {
      if (!parameter.nullable && !(name in body)) problems.push(`${operation.name}: the parameter "${name}" is required`);
    }
    return problems;
  }

  /** A response body for `ref`: a collection comes as `{ value: [...] }`. */
  checkResponse(ref: TypeRef, body: unknown): string[] {
    if (ref.collection) {
      const value = (body as { value?: unknown } | null)?.value;
      return this.checkValue(ref, value ?? [], 'response.value');
    }
    return this.checkValue(ref, body, 'response');
  }
}

function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const c of text) {
    if (c === "'") quoted = !quoted;
    if (!quoted && c === '(') depth++;
    if (!quoted && c === ')') depth--;
    if (!quoted && depth === 0 && c === separator) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') parts.push(current);
  return parts;
}
