/**
 * The files build-live itself writes into every image, whatever the
 * manifest says: the BUILDSTAMP, and a copy of the manifest it was built
 * from (which verify-manifest expects in the boot_archive too).
 */
export const BUILDSTAMP_FILE = 'etc/joyent_buildstamp';
export const MANIFEST_COPY = 'var/log/manifest';
