// The boot_archive.manifest writer and reader are in src/formats/boot-manifest.ts;
// the image root's mode and owner in src/image/model.ts. This re-export
// remains for the packers that import it from here (hsfs.ts, ufs/plan.ts).
export { ROOT_DIR } from '../image/model.js';
