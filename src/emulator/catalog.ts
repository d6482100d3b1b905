/**
 * The emulated layers grouped by service and folder, with who needs a token.
 */
import type { EmulatedLayer, LayerSpec } from './types.js';

export class Catalog {
  readonly #services = new Map<string, EmulatedLayer[]>();
  readonly #secured = new Map<string, boolean>();
  readonly #all: readonly EmulatedLayer[];

  constructor(layers: readonly EmulatedLayer[], specs: readonly LayerSpec[], securedByDefault: boolean) {
    this.#all = layers;
    const specByKey = new Map(specs.map((s) => [key(s.service, s.id ?? 0), s]));
    for (const layer of layers) {
      const list = this.#services.get(layer.service) ?? [];
      list.push(layer);
      list.sort((a, b) => a.id - b.id);
      this.#services.set(layer.service, list);
      const spec = specByKey.get(key(layer.service, layer.id));
      this.#secured.set(key(layer.service, layer.id), spec?.secured ?? securedByDefault);
    }
  }

  get layers(): readonly EmulatedLayer[] {
    return this.#all;
  }

  serviceNames(): string[] {
    return [...this.#services.keys()].sort();
  }

  /** Folders and services directly under a folder (`''` = the root). */
  listing(folder: string): { folders: string[]; services: string[] } | undefined {
    const folders = new Set<string>();
    const services: string[] = [];
    for (const name of this.serviceNames()) {
      const slash = name.lastIndexOf('/');
      const parent = slash < 0 ? '' : name.slice(0, slash);
      if (parent === folder) services.push(name);
      else if (folder === '' && slash >= 0) folders.add(name.slice(0, name.indexOf('/')));
      else if (folder !== '' && name.startsWith(`${folder}/`)) {
        folders.add(name.slice(0, folder.length + 1 + name.slice(folder.length + 1).indexOf('/')));
      }
    }
    if (folder !== '' && services.length === 0 && folders.size === 0) return undefined;
    return { folders: [...folders].sort(), services };
  }

  service(name: string): readonly EmulatedLayer[] | undefined {
    return this.#services.get(name);
  }

  layer(service: string, id: number): EmulatedLayer | undefined {
    return this.#services.get(service)?.find((l) => l.id === id);
  }

  isSecured(service: string, id?: number): boolean {
    if (id !== undefined) return this.#secured.get(key(service, id)) ?? false;
    return (this.#services.get(service) ?? []).some((l) => this.#secured.get(key(l.service, l.id)));
  }
}

function key(service: string, id: number): string {
  return `${service}\u0000${id}`;
}
