/**
 * A minimal ELF64 shared object (ET_DYN, x86-64, little-endian) of our own
 * bytes: one PT_LOAD covering the whole file at address 0 and a PT_DYNAMIC
 * with DT_NEEDED entries, an optional DT_RUNPATH, DT_STRTAB and DT_STRSZ;
 * for the tests of crafted objects (docs/verify.md, "ELF objects of any kind").
 */
export interface ElfDynOptions {
  needed: readonly string[];
  runpath?: string;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;

export function elfDyn(opts: ElfDynOptions): Buffer {
  const names = [...opts.needed, ...(opts.runpath !== undefined ? [opts.runpath] : [])];
  const offsets: number[] = [];
  const parts: Buffer[] = [Buffer.from([0])];
  let at = 1;
  for (const name of names) {
    offsets.push(at);
    parts.push(Buffer.from(`${name}\0`, 'latin1'));
    at += name.length + 1;
  }
  const strtab = Buffer.concat(parts);
  const tags: [number, number][] = opts.needed.map((_, i) => [1, offsets[i]]);
  if (opts.runpath !== undefined) tags.push([29, offsets[opts.needed.length]]);
  const phoff = 64;
  const dynOff = phoff + 2 * 56;
  const dynSize = 16 * (tags.length + 3);
  const strOff = dynOff + dynSize;
  tags.push([5, strOff], [10, strtab.length], [0, 0]); // DT_STRTAB, DT_STRSZ, DT_NULL
  const file = Buffer.alloc(strOff + strtab.length);
  file.writeUInt32BE(0x7f454c46, 0);
  file[4] = 2; // ELFCLASS64
  file[5] = 1; // ELFDATA2LSB
  file[6] = 1;
  file.writeUInt16LE(3, 16); // ET_DYN
  file.writeUInt16LE(62, 18); // EM_X86_64
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(BigInt(phoff), 32);
  file.writeUInt16LE(64, 52);
  file.writeUInt16LE(56, 54);
  file.writeUInt16LE(2, 56);
  const ph = (i: number, type: number, offset: number, size: number) => {
    const o = phoff + 56 * i;
    file.writeUInt32LE(type, o);
    file.writeBigUInt64LE(BigInt(offset), o + 8); // p_offset
    file.writeBigUInt64LE(BigInt(offset), o + 16); // p_vaddr
    file.writeBigUInt64LE(BigInt(size), o + 32); // p_filesz
    file.writeBigUInt64LE(BigInt(size), o + 40); // p_memsz
  };
  ph(0, PT_LOAD, 0, file.length);
  ph(1, PT_DYNAMIC, dynOff, dynSize);
  tags.forEach(([tag, val], i) => {
    file.writeBigUInt64LE(BigInt(tag), dynOff + 16 * i);
    file.writeBigUInt64LE(BigInt(val), dynOff + 16 * i + 8);
  });
  strtab.copy(file, strOff);
  return file;
}
