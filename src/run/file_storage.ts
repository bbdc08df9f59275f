/** A run folder on disk (Deno): atomic writes by temporary file + rename, beside the target. */
import type { RunStorage } from "./storage.ts";

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : ".";
}

export class FileStorage implements RunStorage {
  constructor(readonly root: string) {}

  describe(path: string): string {
    return `${this.root}/${path}`;
  }

  async write(path: string, bytes: Uint8Array): Promise<void> {
    const target = this.describe(path);
    await Deno.mkdir(parentOf(target), { recursive: true });
    const temporary = `${target}.tmp-${crypto.randomUUID()}`;
    try {
      await Deno.writeFile(temporary, bytes);
      await Deno.rename(temporary, target);
    } catch (e) {
      await Deno.remove(temporary).catch(() => {});
      throw e;
    }
  }

  async append(path: string, bytes: Uint8Array): Promise<void> {
    const target = this.describe(path);
    await Deno.mkdir(parentOf(target), { recursive: true });
    await Deno.writeFile(target, bytes, { append: true });
  }

  async read(path: string): Promise<Uint8Array | null> {
    try {
      return await Deno.readFile(this.describe(path));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  }
}
