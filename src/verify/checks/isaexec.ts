/**
 * isaexec: every entry of the image that is a hard link to usr/lib/isaexec
 * (the same file) runs, at run time, the file of the same name in the first
 * subdirectory of its own directory named in the ISA list that exists
 * (illumos cmd/isaexec/isaexec.c: sysinfo(SI_ISALIST), access(X_OK)). So at
 * least one of them must be an executable file in the image, and not
 * isaexec itself (that would run isaexec again, for ever) (docs/verify.md,
 * "isaexec").
 */
import { imageDir } from '../image-tree.js';
import { imageFinding, type ImageView } from '../image-view.js';
import type { Finding } from '../types.js';

export const ISAEXEC = 'usr/lib/isaexec';
/** SI_ISALIST of an amd64 illumos kernel, in the order isaexec tries it. */
export const ISA_LIST = [
  'amd64',
  'pentium_pro+mmx',
  'pentium_pro',
  'pentium+mmx',
  'pentium',
  'i486',
  'i386',
  'i86',
] as const;

export function* isaexecLinks(image: ImageView): Generator<Finding, number> {
  const stub = image.entries.get(ISAEXEC);
  if (!stub || stub.type !== 'f') return 0;
  let checked = 0;
  for (const entry of image.entries.values()) {
    if (entry.type !== 'f' || entry.id !== stub.id || entry.path === ISAEXEC) continue;
    checked++;
    const dir = imageDir(entry.path);
    const name = entry.path.slice(dir === '' ? 0 : dir.length + 1);
    const tried: string[] = [];
    let runs: string | undefined;
    for (const isa of ISA_LIST) {
      const candidate = [dir, isa, name].filter((p) => p !== '').join('/');
      tried.push(`/${candidate}`);
      const r = image.resolve(candidate);
      if (r.kind !== 'found' || r.entry.type !== 'f' || (r.entry.mode & 0o111) === 0) continue;
      // The first one that exists is run, whatever follows.
      runs = r.entry.id === stub.id ? `/${candidate}` : '';
      break;
    }
    if (runs === '') continue;
    yield imageFinding(
      image,
      'isaexec',
      entry.path,
      runs !== undefined
        ? `is a link to /${ISAEXEC}, and so is ${runs}, the first ISA directory's ${name}: isaexec would run itself again and again`
        : `is a link to /${ISAEXEC}, but no ISA directory has an executable ${name}; looked in ${tried.join(', ')}`,
    );
  }
  return checked;
}
