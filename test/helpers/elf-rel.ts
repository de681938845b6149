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
}

const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;

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
  const shstr = strings(['.data', '.symtab', '.strtab', '.shstrtab']);
  // Layout: header, .data, .symtab, .strtab, .shstrtab, then the section headers.
  const bodies = [data, symtab, names.bytes, shstr.bytes];
  const offsets: number[] = [];
  let at = 64;
  for (const b of bodies) {
    at = (at + 7) & ~7;
    offsets.push(at);
    at += b.length;
  }
  const shoff = (at + 7) & ~7;
  const file = Buffer.alloc(shoff + 64 * 5);
  file.writeUInt32BE(0x7f454c46, 0);
  file[4] = 2; // ELFCLASS64
  file[5] = 1; // ELFDATA2LSB
  file[6] = 1; // EV_CURRENT
  file[7] = 6; // ELFOSABI_SOLARIS
  file.writeUInt16LE(1, 16); // ET_REL
  file.writeUInt16LE(62, 18); // EM_X86_64
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(BigInt(shoff), 40);
  file.writeUInt16LE(64, 52);
  file.writeUInt16LE(64, 58);
  file.writeUInt16LE(5, 60);
  file.writeUInt16LE(4, 62);
  bodies.forEach((b, i) => b.copy(file, offsets[i]));
  const sections = [
    { name: shstr.offsets[0], type: SHT_PROGBITS, flags: 3, link: 0, info: 0, entsize: 0 },
    { name: shstr.offsets[1], type: SHT_SYMTAB, flags: 0, link: 3, info: 1, entsize: 24 },
    { name: shstr.offsets[2], type: SHT_STRTAB, flags: 0, link: 0, info: 0, entsize: 0 },
    { name: shstr.offsets[3], type: SHT_STRTAB, flags: 0, link: 0, info: 0, entsize: 0 },
  ];
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
