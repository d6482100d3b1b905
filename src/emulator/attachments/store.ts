/**
 * The attachments of an editable emulated layer: files by feature OID, each with an id unique in
 * the layer. Names are kept exactly as uploaded, hostile ones included: clients must sanitise.
 */
export interface Attachment {
  readonly id: number;
  readonly parentObjectId: number;
  readonly name: string;
  readonly contentType: string;
  readonly data: Uint8Array;
}

export class AttachmentStore {
  readonly #byFeature = new Map<number, Attachment[]>();
  #nextId = 1;

  add(parentObjectId: number, name: string, contentType: string, data: Uint8Array): Attachment {
    const attachment: Attachment = { id: this.#nextId++, parentObjectId, name, contentType, data };
    const list = this.#byFeature.get(parentObjectId) ?? [];
    list.push(attachment);
    this.#byFeature.set(parentObjectId, list);
    return attachment;
  }

  list(parentObjectId: number): readonly Attachment[] {
    return this.#byFeature.get(parentObjectId) ?? [];
  }

  get(parentObjectId: number, id: number): Attachment | undefined {
    return this.list(parentObjectId).find((a) => a.id === id);
  }

  /** Feature OIDs that have attachments, ascending. */
  parents(): number[] {
    return [...this.#byFeature.keys()].filter((oid) => this.list(oid).length > 0).sort((a, b) => a - b);
  }

  dropFeature(parentObjectId: number): void {
    this.#byFeature.delete(parentObjectId);
  }
}

/** The attachmentInfo of the `attachments` and `queryAttachments` answers. */
export function attachmentInfo(a: Attachment, url?: string): Record<string, unknown> {
  return {
    id: a.id,
    globalId: null,
    name: a.name,
    contentType: a.contentType,
    size: a.data.byteLength,
    keywords: '',
    exifInfo: null,
    ...(url === undefined ? {} : { url }),
  };
}
