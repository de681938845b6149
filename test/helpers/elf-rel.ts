/**
 * A minimal ELF64 relocatable object (ET_REL, x86-64, little-endian) as an
 * illumos kernel module is one: .data holding a `_depends_on` string, and
 * .symtab/.strtab naming it. Our own bytes, for the missing-module tests.
 */

export interface ElfRelOptions {
  /** The `_depends_on` string; without it the object has no such symbol. */
  depends?: string;
  /** The symbol's st_value (default: where the string is in .data). */
  dependsValue?: number;
  /** DT_NEEDED names in an SHT_DYNAMIC section (`ld -r -dy -N name`), its strings in .dynstr. */
  needed?: readonly string[];
  /** The DT_NEEDED string offsets instead of the right ones (one per name). */
  neededOffsets?: readonly number[];
  /** e_machine (default EM_X86_64). */
  machine?: number;
}

const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;

/** .dynamic (DT_NEEDED entries, DT_NULL) and .dynstr for `needed`. */
function dynamicOf(needed: readonly string[], offsets?: readonly number[]) {
  const dynstr = strings(needed);
  const dynamic = Buffer.alloc(16 * (needed.length + 1));
  needed.forEach((_, i) => {
    dynamic.writeBigUInt64LE(1n, 16 * i); // DT_NEEDED
    dynamic.writeBigUInt64LE(BigInt(offsets?.[i] ?? dynstr.offsets[i]), 16 * i + 8);
  });
  return { dynamic, dynstr: dynstr.bytes };
}

function strings(names: readonly string[]): { bytes: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  const parts = [Buffer.from([0])];
  let at = 1;
  for (const name of names) {
    offsets.push(at);
    parts.push(Buffer.from(`${name}\0`, 'latin1'));
    at += name.length + 1;
  }
  return { bytes: Buffer.concat(parts), offsets };
}

export function elfRel(opts: ElfRelOptions = {}): Buffer {
  const prefix = Buffer.from('modlinkage\0\0\0\0\0\0', 'latin1');
  const data =
    opts.depends === undefined
      ? prefix
      : Buffer.concat([prefix, Buffer.from(`${opts.depends}\0`, 'latin1')]);
  const names = strings(opts.depends === undefined ? ['_init'] : ['_init', '_depends_on']);
  const symbols: { name: number; info: number; shndx: number; value: number; size: number }[] = [
    { name: 0, info: 0, shndx: 0, value: 0, size: 0 },
    { name: names.offsets[0], info: 0x12, shndx: 0, value: 0, size: 0 },
  ];
  if (opts.depends !== undefined) {
    symbols.push({
      name: names.offsets[1],
      info: 0x11, // STB_GLOBAL, STT_OBJECT
      shndx: 1,
      value: opts.dependsValue ?? prefix.length,
      size: opts.depends.length + 1,
    });
  }
  const symtab = Buffer.alloc(24 * symbols.length);
  symbols.forEach((s, i) => {
    const o = 24 * i;
    symtab.writeUInt32LE(s.name, o);
    symtab[o + 4] = s.info;
    symtab.writeUInt16LE(s.shndx, o + 6);
    symtab.writeBigUInt64LE(BigInt(s.value), o + 8);
    symtab.writeBigUInt64LE(BigInt(s.size), o + 16);
  });
  const dyn = opts.needed ? dynamicOf(opts.needed, opts.neededOffsets) : undefined;
  const shstr = strings(['.data', '.symtab', '.strtab', '.shstrtab', '.dynamic', '.dynstr']);
  // Layout: header, .data, .symtab, .strtab, .shstrtab, [.dynamic, .dynstr], then the section headers.
  const bodies = [
    data,
    symtab,
    names.bytes,
    shstr.bytes,
    ...(dyn ? [dyn.dynamic, dyn.dynstr] : []),
  ];
  const shnum = bodies.length + 1;
  const offsets: number[] = [];
  let at = 64;
  for (const b of bodies) {
    at = (at + 7) & ~7;
    offsets.push(at);
    at += b.length;
  }
  const shoff = (at + 7) & ~7;
  const file = Buffer.alloc(shoff + 64 * shnum);
  file.writeUInt32BE(0x7f454c46, 0);
  file[4] = 2; // ELFCLASS64
  file[5] = 1; // ELFDATA2LSB
  file[6] = 1; // EV_CURRENT
  file[7] = 6; // ELFOSABI_SOLARIS
  file.writeUInt16LE(1, 16); // ET_REL
  file.writeUInt16LE(opts.machine ?? 62, 18); // EM_X86_64
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(BigInt(shoff), 40);
  file.writeUInt16LE(64, 52);
  file.writeUInt16LE(64, 58);
  file.writeUInt16LE(shnum, 60);
  file.writeUInt16LE(4, 62);
  bodies.forEach((b, i) => b.copy(file, offsets[i]));
  const sections = [
    { name: shstr.offsets[0], type: SHT_PROGBITS, flags: 3, link: 0, info: 0, entsize: 0 },
    { name: shstr.offsets[1], type: SHT_SYMTAB, flags: 0, link: 3, info: 1, entsize: 24 },
    { name: shstr.offsets[2], type: SHT_STRTAB, flags: 0, link: 0, info: 0, entsize: 0 },
    { name: shstr.offsets[3], type: SHT_STRTAB, flags: 0, link: 0, info: 0, entsize: 0 },
    { name: shstr.offsets[4], type: SHT_DYNAMIC, flags: 3, link: 6, info: 0, entsize: 16 },
    { name: shstr.offsets[5], type: SHT_STRTAB, flags: 2, link: 0, info: 0, entsize: 0 },
  ].slice(0, bodies.length);
  sections.forEach((s, i) => {
    const o = shoff + 64 * (i + 1);
    file.writeUInt32LE(s.name, o);
    file.writeUInt32LE(s.type, o + 4);
    file.writeBigUInt64LE(BigInt(s.flags), o + 8);
    file.writeBigUInt64LE(BigInt(offsets[i]), o + 24);
    file.writeBigUInt64LE(BigInt(bodies[i].length), o + 32);
    file.writeUInt32LE(s.link, o + 40);
    file.writeUInt32LE(s.info, o + 44);
    file.writeBigUInt64LE(1n, o + 48);
    file.writeBigUInt64LE(BigInt(s.entsize), o + 56);
  });
  return file;
}
