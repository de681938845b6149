/**
 * A small reader of ELF objects (never run): the header, the program
 * headers and the dynamic section, which is all the library closure needs,
 * and for kernel modules the SHT_DYNAMIC section's DT_NEEDED entries or the
 * symbol table's `_depends_on` (docs/verify.md). Reads through a callback, a few hundred bytes at a
 * time. Anything truncated or inconsistent is an ElfError, never a crash.
 */

/** Reads up to `length` bytes at `position` (fewer at the end of the file). */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

export class ElfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElfError';
  }
}

export interface ElfInfo {
  class: 32 | 64;
  /** ET_REL 1, ET_EXEC 2, ET_DYN 3, ET_CORE 4. */
  type: number;
  machine: number;
  interp?: string;
  /** The first MAX_NEEDED DT_NEEDED names (each at most MAX_NAME bytes). */
  needed: string[];
  /** How many DT_NEEDED entries the object has. */
  neededTotal: number;
  rpath?: string;
  runpath?: string;
  /** True when the object has a PT_DYNAMIC segment. */
  dynamic: boolean;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
/** More than any real object has; a bigger count is corruption. */
const MAX_PHNUM = 4096;
const MAX_DYNAMIC = 1 << 20;
const MAX_STRTAB = 16 << 20;
/** DT_NEEDED entries read per object; real objects have tens, the rest are counted. */
export const MAX_NEEDED = 256;
/** Bytes of one dynamic string kept (PATH_MAX is 1024). */
const MAX_NAME = 4096;

/** True when `head` (4 bytes or more) starts with the ELF magic. */
export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46;
}

async function exactly(read: ReadAt, position: number, length: number, what: string) {
  const buf = await read(position, length);
  if (buf.length < length) {
    throw new ElfError(
      `truncated: ${what} at offset ${position} needs ${length} bytes, the file has ${Math.max(0, buf.length)} there`,
    );
  }
  return buf;
}

/** A table of `count` headers of `size` bytes at `offset`, checked against the file's size first. */
async function headerTable(
  read: ReadAt,
  fileSize: number,
  offset: number,
  size: number,
  count: number,
  what: 'program headers' | 'section headers',
) {
  if (offset + size * count > fileSize) {
    throw new ElfError(
      `truncated: ${count} ${what} at offset ${offset} end past the end of the file (${fileSize} bytes)`,
    );
  }
  return exactly(read, offset, size * count, `the ${what}`);
}

/** The ELF header, with readers of its class and byte order. */
async function elfHeader(read: ReadAt) {
  const ident = await exactly(read, 0, 16, 'the ELF identification');
  if (!isElf(ident)) throw new ElfError('no ELF magic number');
  const cls: 32 | 64 | undefined = ident[4] === 1 ? 32 : ident[4] === 2 ? 64 : undefined;
  if (!cls) throw new ElfError(`unknown ELF class ${ident[4]}`);
  const little = ident[5] === 1 ? true : ident[5] === 2 ? false : undefined;
  if (little === undefined) throw new ElfError(`unknown ELF data encoding ${ident[5]}`);
  const is64 = cls === 64;
  const header = await exactly(read, 0, is64 ? 64 : 52, 'the ELF header');
  const u16 = (b: Buffer, o: number) => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) => {
    if (!is64) return u32(b, o);
    const v = little ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
    // Offsets past 2^53 are corruption; keep them too big rather than wrong.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  return { cls, is64, header, u16, u32, word };
}

/** Throws unless `s` lies inside a file of `fileSize` bytes. */
function inFile(fileSize: number, what: string, s: { offset: number; size: number }) {
  if (s.offset + s.size > fileSize) {
    throw new ElfError(
      `${what} (offset ${s.offset}, ${s.size} bytes) points past the end of the file (${fileSize} bytes)`,
    );
  }
}

export async function readElf(read: ReadAt, fileSize: number): Promise<ElfInfo> {
  const { cls, is64, header, u16, u32, word } = await elfHeader(read);
  const type = u16(header, 16);
  const machine = u16(header, 18);
  const phoff = word(header, is64 ? 32 : 28);
  const phentsize = u16(header, is64 ? 54 : 42);
  const phnum = u16(header, is64 ? 56 : 44);
  const info: ElfInfo = { class: cls, type, machine, needed: [], neededTotal: 0, dynamic: false };
  if (phnum === 0) return info;
  const minEntry = is64 ? 56 : 32;
  if (phentsize < minEntry) throw new ElfError(`program header entries of ${phentsize} bytes`);
  if (phnum > MAX_PHNUM) throw new ElfError(`${phnum} program headers`);
  const table = await headerTable(read, fileSize, phoff, phentsize, phnum, 'program headers');
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dynamic: { offset: number; size: number } | undefined;
  let interp: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    const ptype = u32(table, o);
    const offset = is64 ? word(table, o + 8) : u32(table, o + 4);
    const vaddr = is64 ? word(table, o + 16) : u32(table, o + 8);
    const filesz = is64 ? word(table, o + 32) : u32(table, o + 16);
    if (ptype === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (ptype === PT_DYNAMIC) dynamic = { offset, size: filesz };
    else if (ptype === PT_INTERP) interp = { offset, size: filesz };
  }
  if (interp) {
    inFile(fileSize, 'PT_INTERP', interp);
    if (interp.size > 4096) throw new ElfError(`PT_INTERP of ${interp.size} bytes`);
    const raw = await exactly(read, interp.offset, interp.size, 'PT_INTERP');
    const nul = raw.indexOf(0);
    info.interp = raw.toString('latin1', 0, nul >= 0 ? nul : raw.length);
  }
  if (!dynamic) return info;
  info.dynamic = true;
  inFile(fileSize, 'the dynamic section', dynamic);
  if (dynamic.size > MAX_DYNAMIC) throw new ElfError(`a dynamic section of ${dynamic.size} bytes`);
  const dyn = await exactly(read, dynamic.offset, dynamic.size, 'the dynamic section');
  const entry = is64 ? 16 : 8;
  const needed: number[] = [];
  let strtab: number | undefined;
  let strsz: number | undefined;
  let rpath: number | undefined;
  let runpath: number | undefined;
  for (let o = 0; o + entry <= dyn.length; o += entry) {
    const tag = is64 ? word(dyn, o) : u32(dyn, o);
    const val = is64 ? word(dyn, o + 8) : u32(dyn, o + 4);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED && info.neededTotal++ < MAX_NEEDED) needed.push(val);
    else if (tag === DT_STRTAB) strtab = val;
    else if (tag === DT_STRSZ) strsz = val;
    else if (tag === DT_RPATH) rpath = val;
    else if (tag === DT_RUNPATH) runpath = val;
  }
  if (info.neededTotal === 0 && rpath === undefined && runpath === undefined) return info;
  if (strtab === undefined || strsz === undefined) {
    throw new ElfError('the dynamic section names libraries but has no DT_STRTAB/DT_STRSZ');
  }
  // DT_STRTAB is an address: the PT_LOAD segment holding it gives the file offset.
  const seg = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
  if (!seg) throw new ElfError(`DT_STRTAB 0x${strtab.toString(16)} is in no loaded segment`);
  const offset = strtab - seg.vaddr + seg.offset;
  if (strsz > MAX_STRTAB) throw new ElfError(`a string table of ${strsz} bytes`);
  inFile(fileSize, 'the dynamic string table', { offset, size: strsz });
  const strings = await exactly(read, offset, strsz, 'the dynamic string table');
  const str = (at: number) => {
    if (at >= strings.length)
      throw new ElfError(`string offset ${at} past the string table (${strings.length} bytes)`);
    const end = strings.indexOf(0, at);
    return strings.toString('utf8', at, Math.min(end >= 0 ? end : strings.length, at + MAX_NAME));
  };
  info.needed = needed.map(str);
  const whole = (at: number) => {
    str(at);
    const end = strings.indexOf(0, at);
    return strings.toString('utf8', at, end >= 0 ? end : strings.length);
  };
  if (rpath !== undefined) info.rpath = whole(rpath);
  if (runpath !== undefined) info.runpath = whole(runpath);
  return info;
}

const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const SHT_NOBITS = 8;
const SHN_LORESERVE = 0xff00;
const DEPENDS_ON = Buffer.from('_depends_on\0', 'latin1');
/** Symbols and string table are scanned this many bytes at a time. */
const SCAN = 64 << 10;
const MAX_DEPENDS = 4096;

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/** The section header table of an ELF object (none when it has no sections). */
async function sectionHeaders(read: ReadAt, fileSize: number) {
  const elf = await elfHeader(read);
  const { is64, header, u16, u32, word } = elf;
  const shoff = word(header, is64 ? 40 : 32);
  const shentsize = u16(header, is64 ? 58 : 46);
  const shnum = u16(header, is64 ? 60 : 48);
  if (shoff === 0 || shnum === 0) return { elf, shnum: 0, section: (): Section => nullSection };
  if (shentsize < (is64 ? 64 : 40)) throw new ElfError(`section headers of ${shentsize} bytes`);
  const table = await headerTable(read, fileSize, shoff, shentsize, shnum, 'section headers');
  const section = (i: number): Section => {
    const o = i * shentsize;
    return {
      type: u32(table, o + 4),
      offset: word(table, o + (is64 ? 24 : 16)),
      size: word(table, o + (is64 ? 32 : 20)),
      link: u32(table, o + (is64 ? 40 : 24)),
      entsize: word(table, o + (is64 ? 56 : 36)),
    };
  };
  return { elf, shnum, section };
}

const nullSection: Section = { type: 0, offset: 0, size: 0, link: 0, entsize: 0 };

/** The most DT_NEEDED entries of a kernel module read; more are counted, not read. */
export const MAX_MODULE_NEEDED = 256;

/** A kernel module's dependencies, as krtld reads them (docs/verify.md). */
export interface ModuleDepends {
  /** The names, in order, each a word of the dependency string. */
  names: string[];
  source: 'DT_NEEDED' | '_depends_on';
  /** DT_NEEDED entries past MAX_MODULE_NEEDED, not read. */
  unread: number;
}

/**
 * The dependencies of a kernel module (an ET_REL object) as illumos krtld
 * reads them (kobj.c: do_dynamic, process_dynamic, depends_on): the
 * DT_NEEDED strings of its SHT_DYNAMIC section (strings from the section
 * its sh_link names), else the `_depends_on` symbol's string; undefined
 * when it has neither. Two SHT_DYNAMIC sections, an sh_link that is not a
 * string table, a string offset past it: ElfError, as krtld refuses them.
 */
export async function readModuleDepends(
  read: ReadAt,
  fileSize: number,
): Promise<ModuleDepends | undefined> {
  const headers = await sectionHeaders(read, fileSize);
  const { shnum, section } = headers;
  let dynamic: Section | undefined;
  for (let i = 1; i < shnum; i++) {
    if (section(i).type !== SHT_DYNAMIC) continue;
    if (dynamic) throw new ElfError('more than one SHT_DYNAMIC section (krtld refuses it)');
    dynamic = section(i);
  }
  if (dynamic) {
    const needed = await dynamicNeeded(read, fileSize, headers, dynamic);
    if (needed.names.length > 0 || needed.unread > 0) return { ...needed, source: 'DT_NEEDED' };
  }
  const depends = await dependsOnString(read, fileSize, headers);
  return depends === undefined
    ? undefined
    : {
        names: words(depends).slice(0, MAX_MODULE_NEEDED),
        source: '_depends_on',
        unread: Math.max(0, words(depends).length - MAX_MODULE_NEEDED),
      };
}

/** krtld splits the dependency string at spaces and tabs (kobj.c: do_dependents). */
const words = (text: string) => text.split(/[ \t]+/).filter((w) => w !== '');

/** The DT_NEEDED strings of an SHT_DYNAMIC section, up to DT_NULL. */
async function dynamicNeeded(
  read: ReadAt,
  fileSize: number,
  { elf, shnum, section }: Awaited<ReturnType<typeof sectionHeaders>>,
  dynamic: Section,
): Promise<{ names: string[]; unread: number }> {
  const { is64, u32, word } = elf;
  if (dynamic.link === 0 || dynamic.link >= shnum)
    throw new ElfError(`the SHT_DYNAMIC section links to section ${dynamic.link}, which is none`);
  const strtab = section(dynamic.link);
  if (strtab.type !== SHT_STRTAB)
    throw new ElfError(
      `the SHT_DYNAMIC section links to section ${dynamic.link}, not a string table`,
    );
  inFile(fileSize, 'the SHT_DYNAMIC section', dynamic);
  inFile(fileSize, 'its string table', strtab);
  if (strtab.size > MAX_STRTAB) throw new ElfError(`a string table of ${strtab.size} bytes`);
  // Read a chunk at a time: any number of entries costs bounded memory.
  const entry = is64 ? 16 : 8;
  const per = Math.floor(SCAN / entry) * entry;
  const offsets: number[] = [];
  let unread = 0;
  scan: for (let at = 0; at + entry <= dynamic.size; at += per) {
    const n = Math.min(per, dynamic.size - at - ((dynamic.size - at) % entry));
    const chunk = await exactly(read, dynamic.offset + at, n, 'the SHT_DYNAMIC section');
    for (let o = 0; o + entry <= chunk.length; o += entry) {
      const tag = is64 ? word(chunk, o) : u32(chunk, o);
      if (tag === DT_NULL) break scan;
      if (tag !== DT_NEEDED) continue;
      if (offsets.length < MAX_MODULE_NEEDED)
        offsets.push(is64 ? word(chunk, o + 8) : u32(chunk, o + 4));
      else unread++;
    }
  }
  if (offsets.length === 0) return { names: [], unread };
  const strings = await exactly(read, strtab.offset, strtab.size, 'the dynamic string table');
  const names: string[] = [];
  for (const at of offsets) {
    if (at >= strings.length)
      throw new ElfError(
        `DT_NEEDED string offset ${at} is past its string table (${strings.length} bytes)`,
      );
    const end = strings.indexOf(0, at);
    if (end < 0) throw new ElfError(`the DT_NEEDED string at ${at} runs past its string table`);
    for (const name of words(strings.toString('latin1', at, end))) {
      if (names.length < MAX_MODULE_NEEDED) names.push(name);
      else unread++;
    }
  }
  return { names, unread };
}

/**
 * The `_depends_on` string of a kernel module (an ET_REL object): the
 * modules it needs, such as "misc/mac drv/ip", or undefined when it
 * declares none. Its symbol table is scanned a chunk at a time
 * (docs/verify.md).
 */
async function dependsOnString(
  read: ReadAt,
  fileSize: number,
  { elf, shnum, section }: Awaited<ReturnType<typeof sectionHeaders>>,
): Promise<string | undefined> {
  const { is64, u16, u32, word } = elf;
  let symtab;
  for (let i = 0; i < shnum && !symtab; i++)
    if (section(i).type === SHT_SYMTAB) symtab = section(i);
  if (!symtab) return undefined;
  inFile(fileSize, 'the symbol table', symtab);
  if (symtab.link >= shnum) throw new ElfError(`the symbol table links to section ${symtab.link}`);
  const strtab = section(symtab.link);
  inFile(fileSize, 'the symbol string table', strtab);

  // Where "_depends_on" can start in the string table (names may share tails).
  const names = new Set<number>();
  for (let at = 0; at < strtab.size; at += SCAN) {
    const chunk = await exactly(
      read,
      strtab.offset + at,
      Math.min(SCAN + DEPENDS_ON.length, strtab.size - at),
      'the symbol string table',
    );
    for (
      let k = chunk.indexOf(DEPENDS_ON);
      k >= 0 && k < SCAN;
      k = chunk.indexOf(DEPENDS_ON, k + 1)
    )
      names.add(at + k);
  }
  if (names.size === 0) return undefined;

  const entry = is64 ? 24 : 16;
  if (symtab.entsize !== 0 && symtab.entsize !== entry)
    throw new ElfError(`symbol table entries of ${symtab.entsize} bytes`);
  const per = Math.floor(SCAN / entry) * entry;
  for (let at = 0; at + entry <= symtab.size; at += per) {
    const n = Math.min(per, symtab.size - at - ((symtab.size - at) % entry));
    const chunk = await exactly(read, symtab.offset + at, n, 'the symbol table');
    for (let o = 0; o + entry <= chunk.length; o += entry) {
      if (!names.has(u32(chunk, o))) continue;
      const value = is64 ? word(chunk, o + 8) : u32(chunk, o + 4);
      const size = is64 ? word(chunk, o + 16) : u32(chunk, o + 8);
      const shndx = u16(chunk, o + (is64 ? 6 : 14));
      if (shndx === 0 || shndx >= SHN_LORESERVE || shndx >= shnum)
        throw new ElfError(`_depends_on is in section ${shndx}, not in one of the object's`);
      const data = section(shndx);
      if (data.type === SHT_NOBITS) throw new ElfError('_depends_on is in a section with no bytes');
      if (value >= data.size)
        throw new ElfError(`_depends_on at ${value} is past its section (${data.size} bytes)`);
      const length = Math.min(size || MAX_DEPENDS, MAX_DEPENDS, data.size - value);
      inFile(fileSize, '_depends_on', { offset: data.offset + value, size: length });
      const raw = await exactly(read, data.offset + value, length, '_depends_on');
      const nul = raw.indexOf(0);
      return raw.toString('latin1', 0, nul >= 0 ? nul : raw.length);
    }
  }
  return undefined;
}
