/**
 * missing-module: every kernel module's dependencies resolved as illumos
 * krtld resolves them at boot (docs/verify.md, "Kernel modules"). The
 * libraries pass reads each ELF object once and hands its header and, for
 * a module, its dependencies here; the lookups run once every object is
 * known, because a dependency found must itself be a module of the
 * kernel's ISA.
 */
import { imageDir, resolveInImage, type ImageTree } from '../image-tree.js';
import type { ModuleDepends } from '../elf.js';
import type { Finding } from '../types.js';

/**
 * The module path of an i86pc kernel, in search order: /system/boot/kernel
 * (i86pc mlsetup.c mach_modpath, SYSTEM_BOOT_PATH), the directory of the
 * booted unix without its amd64/ (/platform/i86pc/kernel), then
 * MOD_DEFPATH (sys/modctl.h: /kernel /usr/kernel).
 */
export const MODULE_PATH = [
  'system/boot/kernel',
  'platform/i86pc/kernel',
  'kernel',
  'usr/kernel',
] as const;

/** Where modules live: their dependencies are checked (kernel/, usr/kernel/, platform/<name>/kernel/). */
export const MODULE_TREE = /^(kernel|usr\/kernel|platform\/[^/]+\/kernel)\//;

/**
 * Dependency names that need no file: modules loaded as part of the
 * primary kernel before any other (kobj.c load_primary: genunix, named by
 * unix's DT_NEEDED as i86pc/unix/Makefile links it with `-l genunix`, is
 * found by name in the module list, modctl.c mod_find_by_filename), and
 * `dtracestubs`, which load_primary skips by name.
 */
export const BUILTIN_MODULES: ReadonlySet<string> = new Set(['genunix', 'dtracestubs']);

/** sys/modctl.h MODMAXNAMELEN: do_dependents refuses a name of this length or longer, less one. */
const MODMAXNAMELEN = 32;
const ET_REL = 1;
const EM_386 = 3;
const EM_X86_64 = 62;
/** Names of a cycle printed in its message; the rest are counted. */
const MAX_CYCLE_SHOWN = 8;

export interface ElfHead {
  class: 32 | 64;
  type: number;
  machine: number;
}

interface Module {
  path: string;
  head: ElfHead;
  depends: ModuleDepends;
  where: { file?: string; line?: number };
}

type Lookup =
  | { kind: 'found'; path: string }
  | { kind: 'missing'; searched: string[] }
  | { kind: 'wrong'; path: string; why: string };

const machineOf = (cls: 32 | 64) => (cls === 64 ? EM_X86_64 : EM_386);
const isaName = (cls: 32 | 64) => (cls === 64 ? 'x86-64' : 'i386');

/** The kernel modules of an image and the ELF headers of its objects. */
export class KernelModules {
  private readonly heads = new Map<string, ElfHead>();
  private readonly modules: Module[] = [];
  private readonly lookups = new Map<string, Lookup>();
  private children?: Map<string, string[]>;

  constructor(private readonly tree: ImageTree) {}

  /** Every ELF object of the image, by path: what a lookup may find. */
  noteElf(path: string, head: ElfHead): void {
    this.heads.set(path, head);
  }

  /** True when `path` holds a module whose dependencies are checked. */
  static isModule(path: string, head: ElfHead): boolean {
    return head.type === ET_REL && head.machine === machineOf(head.class) && MODULE_TREE.test(path);
  }

  addModule(module: Module): void {
    this.modules.push(module);
  }

  /** The findings, once every object of the image is known: missing names, then cycles. */
  *findings(): Generator<Finding> {
    const edges = new Map<string, string[]>();
    for (const module of this.modules) {
      const found: string[] = [];
      edges.set(module.path, found);
      yield* this.moduleFindings(module, found);
    }
    yield* this.cycles(edges);
  }

  private *moduleFindings(module: Module, found: string[]): Generator<Finding> {
    const { path, depends, where, head } = module;
    const finding = (message: string): Finding => ({
      kind: 'missing-module',
      path,
      ...where,
      message,
    });
    if (depends.unread > 0) {
      yield finding(
        `names ${depends.unread} dependencies past the first ${depends.names.length} (${depends.source}): not checked`,
      );
    }
    for (const name of depends.names) {
      if (name.length >= MODMAXNAMELEN - 1) {
        yield finding(
          `needs module ${name.slice(0, 64)}${name.length > 64 ? '...' : ''} (${depends.source}): a name of ${name.length} characters, krtld refuses ${MODMAXNAMELEN - 1} or more`,
        );
        continue;
      }
      if (BUILTIN_MODULES.has(name)) continue;
      const result = this.lookup(name, head.class);
      if (result.kind === 'found') {
        found.push(result.path);
        continue;
      }
      yield finding(
        result.kind === 'missing'
          ? `needs module ${name} (${depends.source}): not in the image; searched ${result.searched.join(', ')}`
          : `needs module ${name} (${depends.source}): krtld loads /${result.path}, which ${result.why}`,
      );
    }
  }

  /**
   * kobj.c kobj_load_module: the name with the ISA directory (amd64/)
   * before its last component in each directory of the module path, then
   * as written (kobj_open_path); the first file found is the module, and
   * it must be an ET_REL of the kernel's ISA, else the load fails there.
   */
  private lookup(name: string, cls: 32 | 64): Lookup {
    const key = `${cls}:${name}`;
    const known = this.lookups.get(key);
    if (known) return known;
    const searched: string[] = [];
    let result: Lookup | undefined;
    const forms = cls === 64 ? [withIsaDir(name), name] : [name];
    for (const form of forms) {
      for (const dir of MODULE_PATH) {
        for (const candidate of this.expand(`${dir}/${form}`.replace(/\/+/g, '/'))) {
          searched.push(`/${candidate}`);
          const r = resolveInImage(this.tree, candidate);
          if (r.kind !== 'found' || r.entry.type !== 'f') continue;
          result = this.judge(r.path, cls);
          break;
        }
        if (result) break;
      }
      if (result) break;
    }
    result ??= { kind: 'missing', searched };
    this.lookups.set(key, result);
    return result;
  }

  private judge(path: string, cls: 32 | 64): Lookup {
    const head = this.heads.get(path);
    if (!head) return { kind: 'wrong', path, why: 'is not an ELF object' };
    if (head.machine !== machineOf(cls))
      return { kind: 'wrong', path, why: `is not an ${isaName(cls)} object` };
    if (head.type !== ET_REL)
      return {
        kind: 'wrong',
        path,
        why: `is not a relocatable (ET_REL) module (e_type ${head.type})`,
      };
    return { kind: 'found', path };
  }

  /**
   * `$CPU` and `$MMU` as whole path components (kobj.c expand_libmacro):
   * the lists come from boot at run time, so any entry of that directory
   * in the image may be the one; other `$` text is taken as written.
   */
  private expand(path: string): string[] {
    const parts = path.split('/');
    const at = parts.findIndex((p) => p === '$CPU' || p === '$MMU');
    if (at < 0) return [path];
    const dir = parts.slice(0, at).join('/');
    const rest = parts.slice(at + 1).join('/');
    const names = this.childrenOf(dir);
    return names
      .map((n) => [dir, n, rest].filter((p) => p !== '').join('/'))
      .filter((p) => !p.includes('$'));
  }

  private childrenOf(dir: string): string[] {
    if (!this.children) {
      this.children = new Map();
      for (const path of this.tree.keys()) {
        const parent = imageDir(path);
        const list = this.children.get(parent) ?? [];
        list.push(path.slice(parent === '' ? 0 : parent.length + 1));
        this.children.set(parent, list);
      }
    }
    return this.children.get(dir) ?? [];
  }

  /** Dependency cycles (Tarjan's strongly connected components, iterative): krtld cannot load them. */
  private *cycles(edges: Map<string, string[]>): Generator<Finding> {
    const where = new Map(this.modules.map((m) => [m.path, m.where]));
    for (const component of stronglyConnected(edges)) {
      const self = component.length === 1 && (edges.get(component[0]) ?? []).includes(component[0]);
      if (component.length === 1 && !self) continue;
      const cycle = cycleThrough(component[0], new Set(component), edges);
      const shown = cycle.slice(0, MAX_CYCLE_SHOWN).map((p) => `/${p}`);
      const more =
        cycle.length > MAX_CYCLE_SHOWN ? ` (and ${cycle.length - MAX_CYCLE_SHOWN} more)` : '';
      const text = self
        ? 'names itself as a dependency'
        : `is in a dependency cycle: ${[...shown, `/${component[0]}`].join(' -> ')}${more}`;
      for (const path of [...component].sort()) {
        yield {
          kind: 'missing-module',
          path,
          ...where.get(path),
          message: `${text}: krtld refuses circular dependencies (a module cannot wait for one that waits for it)`,
        };
      }
    }
  }
}

/** `misc/mac` as `misc/amd64/mac` (kobj.c kobj_open_path with MODDIR_SUFFIX). */
function withIsaDir(name: string): string {
  const slash = name.lastIndexOf('/');
  return `${name.slice(0, slash + 1)}amd64/${name.slice(slash + 1)}`;
}

/** The strongly connected components of a graph, without recursion. */
function stronglyConnected(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  // The walk's path from the root (empty between roots), each node with its next edge.
  const work: { node: string; child: number }[] = [];
  // A node's first visit: numbered, on the stack, its edges to walk next.
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    work.push({ node, child: 0 });
  };
  for (const root of edges.keys()) {
    if (index.has(root)) continue;
    visit(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const targets = edges.get(top.node) ?? [];
      if (top.child < targets.length) {
        const to = targets[top.child++];
        if (!edges.has(to)) continue;
        if (!index.has(to)) {
          visit(to);
        } else if (onStack.has(to)) {
          low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) !== index.get(top.node)) continue;
      const component: string[] = [];
      for (;;) {
        const node = stack.pop()!;
        onStack.delete(node);
        component.push(node);
        if (node === top.node) break;
      }
      out.push(component.reverse());
    }
  }
  return out;
}

/** One cycle from `start` back to it inside `members` (breadth first): the nodes in order. */
function cycleThrough(
  start: string,
  members: ReadonlySet<string>,
  edges: ReadonlyMap<string, readonly string[]>,
): string[] {
  const from = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const to of edges.get(queue[i]) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [queue[i]];
        while (path[0] !== start) path.unshift(from.get(path[0])!);
        return path;
      }
      if (from.has(to)) continue;
      from.set(to, queue[i]);
      queue.push(to);
    }
  }
  return [start];
}
