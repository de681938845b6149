/**
 * An SMF service manifest (service_bundle(5)), read for what the smf-method
 * and smf-dependency checks need (docs/verify.md): the services and
 * instances it defines, each exec_method's `exec`, each dependency's
 * grouping, type and FMRIs, each method_credential's user and group, with
 * the XML line of each.
 *
 * The XML is read with saxes, a streaming non-validating parser: it never
 * reads a DTD (the manifests' external service_bundle.dtd.1 included) and
 * never expands an entity beyond the five XML predefines and character
 * references, so an external entity is never fetched and a "billion
 * laughs" is an undefined entity, an error like any other that makes the
 * file not well formed.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';

export interface SmfService {
  /** `network/ipfilter` (no `svc:/`). */
  name: string;
  line: number;
  /** Instances it defines (`default` by create_default_instance too). */
  instances: string[];
}

export interface SmfExecMethod {
  service: string;
  /** `start`, `stop`, `refresh`, ... */
  name: string;
  exec: string;
  line: number;
}

export interface SmfDependency {
  service: string;
  name: string;
  grouping: string;
  type: string;
  fmris: string[];
  line: number;
}

export interface SmfCredential {
  service: string;
  user?: string;
  group?: string;
  line: number;
}

export interface SmfManifest {
  services: SmfService[];
  methods: SmfExecMethod[];
  dependencies: SmfDependency[];
  credentials: SmfCredential[];
}

/** An XML file that is not well formed: the parser's message at its line. */
export class SmfXmlError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** Most elements of each kind kept from one manifest (a real one has a few dozen). */
const MAX_ITEMS = 10_000;

class Collector {
  readonly out: SmfManifest = { services: [], methods: [], dependencies: [], credentials: [] };
  private service?: SmfService;
  private dependency?: SmfDependency;
  private depth = 0;
  private dependencyDepth = -1;

  open(tag: SaxesTagPlain, line: number): void {
    this.depth++;
    const a = tag.attributes;
    const service = this.service?.name ?? '';
    const push = <T>(list: T[], item: T) => {
      if (list.length < MAX_ITEMS) list.push(item);
    };
    switch (tag.name) {
      case 'service':
        this.service = { name: a.name ?? '', line, instances: [] };
        push(this.out.services, this.service);
        break;
      case 'instance':
        if (this.service && a.name) this.service.instances.push(a.name);
        break;
      case 'create_default_instance':
        this.service?.instances.push('default');
        break;
      case 'exec_method':
        push(this.out.methods, { service, name: a.name ?? '', exec: a.exec ?? '', line });
        break;
      case 'dependency':
        this.dependency = {
          ...{ service, name: a.name ?? '', grouping: a.grouping ?? '', type: a.type ?? '' },
          ...{ fmris: [], line },
        };
        this.dependencyDepth = this.depth;
        push(this.out.dependencies, this.dependency);
        break;
      case 'service_fmri':
        if (this.dependency && a.value !== undefined && this.dependency.fmris.length < MAX_ITEMS)
          this.dependency.fmris.push(a.value);
        break;
      case 'method_credential':
        push(this.out.credentials, { service, user: a.user, group: a.group, line });
        break;
    }
  }

  close(tag: SaxesTagPlain): void {
    if (tag.name === 'service') this.service = undefined;
    if (this.depth === this.dependencyDepth) {
      this.dependency = undefined;
      this.dependencyDepth = -1;
    }
    this.depth--;
  }
}

/**
 * Reads a manifest's bytes (UTF-8, the XML default); throws SmfXmlError
 * when it is not well-formed XML.
 */
export function parseSmfManifest(bytes: Buffer): SmfManifest {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const collect = new Collector();
  let startLine = 1;
  parser.on('opentagstart', () => {
    startLine = parser.line;
  });
  parser.on('opentag', (tag) => collect.open(tag, startLine));
  parser.on('closetag', (tag) => collect.close(tag));
  parser.on('error', (err) => {
    // saxes prefixes "[file:]line:column: "; the line is given on its own.
    throw new SmfXmlError(parser.line, err.message.replace(/^(?:[^:]*:)?\d+:\d+: /, ''));
  });
  const text = new TextDecoder('utf-8').decode(bytes);
  parser.write(text).close();
  return collect.out;
}
