/** The release, alone in its module: `atl --version` and `status` load nothing else for it. */
export const ATL_VERSION = '0.1.0';
