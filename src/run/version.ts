// The version config.json records, read from package.json so that the two never disagree.
import pkg from "../../package.json" with { type: "json" };

export const HARMONIZE_VERSION: string = pkg.version;
