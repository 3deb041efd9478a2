/**
 * Microsoft Graph v1.0 as its own metadata (the OData CSDL, copied unchanged
 * from microsoftgraph/msgraph-metadata into lab/graph/metadata) describes it: entity and complex types with their
 * properties, enums, entity sets and singletons, bound actions and functions.
 * Parsed once with fast-xml-parser and kept for the life of the process: the
 * stand-in checks every request and response against it, so a name the real
 * service lacks fails the test that sent or returned it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';

export interface CsdlProperty {
  name: string;
  /** the element type's full name (`Edm.String`, `microsoft.graph.assignedLicense`) */
  type: string;
  collection: boolean;
  navigation: boolean;
}

export interface CsdlStructuredType {
  kind: 'entity' | 'complex';
  fullName: string;
  base: string | null;
  abstract: boolean;
  properties: Map<string, CsdlProperty>;
}

export interface CsdlOperation {
  kind: 'action' | 'function';
  name: string;
  /** the binding parameter's type (element type), null when unbound */
  boundTo: string | null;
  boundToCollection: boolean;
  parameters: Map<string, { type: string; collection: boolean; nullable: boolean }>;
  returns: { type: string; collection: boolean } | null;
}

export interface CsdlModel {
  types: Map<string, CsdlStructuredType>;
  enums: Map<string, Set<string>>;
  /** entity sets and singletons of the container: name → entity type, collection or not */
  roots: Map<string, { type: string; collection: boolean }>;
  operations: Map<string, CsdlOperation[]>;
}

export const DEFAULT_CSDL = join(__dirname, 'metadata', 'v1.0-Prod.csdl');

type Xml = Record<string, unknown>;
const ARRAYS = new Set([
  'Schema',
  'EntityType',
  'ComplexType',
  'EnumType',
  'Member',
  'Property',
  'NavigationProperty',
  'Action',
  'Function',
  'Parameter',
  'EntitySet',
  'Singleton',
]);

function list(node: unknown, key: string): Xml[] {
  const value = (node as Xml | undefined)?.[key];
  return Array.isArray(value) ? (value as Xml[]) : [];
}

function parseTypeRef(raw: string, aliases: Map<string, string>): { type: string; collection: boolean } {
  const match = /^Collection\((.+)\)$/.exec(raw);
  const inner = match ? match[1] : raw;
  const dot = inner.lastIndexOf('.');
  const ns = inner.slice(0, dot);
  return { type: `${aliases.get(ns) ?? ns}.${inner.slice(dot + 1)}`, collection: match !== null };
}

export function parseCsdl(xml: string): CsdlModel {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    // annotations are most of the file and carry nothing the checks use
    updateTag: (tag) => (tag === 'Annotation' || tag === 'Annotations' ? false : tag),
    isArray: (name) => ARRAYS.has(name),
  });
  const doc = parser.parse(xml) as Xml;
  const schemas = list((doc['edmx:Edmx'] as Xml)['edmx:DataServices'], 'Schema');
  const aliases = new Map<string, string>();
  for (const schema of schemas) if (schema.Alias) aliases.set(String(schema.Alias), String(schema.Namespace));

  const model: CsdlModel = { types: new Map(), enums: new Map(), roots: new Map(), operations: new Map() };
  for (const schema of schemas) {
    const ns = String(schema.Namespace);
    for (const [tag, kind] of [
      ['EntityType', 'entity'],
      ['ComplexType', 'complex'],
    ] as const) {
      for (const t of list(schema, tag)) {
        const properties = new Map<string, CsdlProperty>();
        for (const [ptag, navigation] of [
          ['Property', false],
          ['NavigationProperty', true],
        ] as const) {
          for (const p of list(t, ptag)) {
            properties.set(String(p.Name), { name: String(p.Name), ...parseTypeRef(String(p.Type), aliases), navigation });
          }
        }
        const fullName = `${ns}.${t.Name}`;
        model.types.set(fullName, {
          kind,
          fullName,
          base: t.BaseType ? parseTypeRef(String(t.BaseType), aliases).type : null,
          abstract: t.Abstract === 'true',
          properties,
        });
      }
    }
    for (const e of list(schema, 'EnumType')) model.enums.set(`${ns}.${e.Name}`, new Set(list(e, 'Member').map((m) => String(m.Name))));
    for (const [tag, kind] of [
      ['Action', 'action'],
      ['Function', 'function'],
    ] as const) {
      for (const op of list(schema, tag)) {
        const params = list(op, 'Parameter');
        const bound = op.IsBound === 'true';
        const binding = bound && params[0] ? parseTypeRef(String(params[0].Type), aliases) : null;
        const returnType = op.ReturnType as Xml | undefined;
        const operation: CsdlOperation = {
          kind,
          name: String(op.Name),
          boundTo: binding?.type ?? null,
          boundToCollection: binding?.collection ?? false,
          parameters: new Map(
            (bound ? params.slice(1) : params).map((p) => [
              String(p.Name),
              { ...parseTypeRef(String(p.Type), aliases), nullable: p.Nullable !== 'false' },
            ]),
          ),
          returns: returnType ? parseTypeRef(String(returnType.Type), aliases) : null,
        };
        const named = model.operations.get(operation.name) ?? [];
        named.push(operation);
        model.operations.set(operation.name, named);
      }
    }
    const container = schema.EntityContainer as Xml | undefined;
    if (container) {
      for (const s of list(container, 'EntitySet'))
        model.roots.set(String(s.Name), { type: parseTypeRef(String(s.EntityType), aliases).type, collection: true });
      for (const s of list(container, 'Singleton'))
        model.roots.set(String(s.Name), { type: parseTypeRef(String(s.Type), aliases).type, collection: false });
    }
  }
  return model;
}

const cache = new Map<string, CsdlModel>();

/** The model of the CSDL at `file` (MAILFERRY_GRAPH_CSDL, else the copy in lab/graph/metadata), parsed on first use. */
export function loadCsdl(file = process.env.MAILFERRY_GRAPH_CSDL || DEFAULT_CSDL): CsdlModel {
  let model = cache.get(file);
  if (!model) {
    model = parseCsdl(readFileSync(file, 'utf8'));
    cache.set(file, model);
  }
  return model;
}

/** A type and every type it derives from, most derived first. */
export function lineage(model: CsdlModel, fullName: string): CsdlStructuredType[] {
  const chain: CsdlStructuredType[] = [];
  for (let t = model.types.get(fullName); t; t = t.base ? model.types.get(t.base) : undefined) chain.push(t);
  return chain;
}

export function findProperty(model: CsdlModel, typeName: string, name: string): CsdlProperty | null {
  for (const t of lineage(model, typeName)) {
    const p = t.properties.get(name);
    if (p) return p;
  }
  return null;
}

/** is `derived` the type `base` or derived from it */
export function isA(model: CsdlModel, derived: string, base: string): boolean {
  return lineage(model, derived).some((t) => t.fullName === base);
}

/** The action or function `name` bound to `typeName` (or one of its bases). */
export function findBoundOperation(model: CsdlModel, typeName: string, collection: boolean, name: string): CsdlOperation | null {
  const candidates = model.operations.get(name) ?? [];
  for (const t of lineage(model, typeName)) {
    const op = candidates.find((o) => o.boundTo === t.fullName && o.boundToCollection === collection);
    if (op) return op;
  }
  return null;
}
