/**
 * The form fields of an upload with the query string merged in, the way Go's `req.Form` holds them for
 * ethconnect: body values first, then query values, so a single-valued field read from the body wins
 * and a repeated one (`source`) collects both. An empty value counts as absent: HTML forms and Swagger
 * UIs send every input, filled or not.
 */
export class UploadForm {
  private readonly values = new Map<string, string[]>();

  constructor(fields: Iterable<[string, string]>, query: URLSearchParams) {
    for (const [name, value] of fields) this.add(name, value);
    for (const [name, value] of query) this.add(name, value);
  }

  /** Whether the field was sent at all, even empty (`?findsolidity` is a flag). */
  has(name: string): boolean {
    return this.values.has(name);
  }

  first(name: string): string | undefined {
    return this.all(name)[0];
  }

  all(name: string): string[] {
    return (this.values.get(name) ?? []).filter((v) => v.trim() !== '');
  }

  private add(name: string, value: string): void {
    const list = this.values.get(name);
    if (list) list.push(value);
    else this.values.set(name, [value]);
  }
}
