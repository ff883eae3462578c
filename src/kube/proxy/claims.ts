// Map elements are keyed by (address, protocol, port) or (protocol, node port). Two Services can
// ask for the same key (the same external IP and port, a node port reused during a quick delete and
// create); nftables takes one value per key, and a transaction that adds a taken key fails as a
// whole. The first Service keeps the key; the others wait for it and are re-synced when it is freed.
export class ElementClaims {
  private owner = new Map<string, string>(); // element key → service key
  private waiting = new Map<string, Set<string>>(); // element key → services that wanted it

  private static keyOf(element: string): string {
    return element.replace(/ : .*$/, '');
  }

  /**
   * Keeps the elements `svc` may hold and records its claims, after releasing what it held before.
   * Returns the kept elements and the services to re-sync (they wait for a key `svc` no longer holds).
   */
  settle(svc: string, before: string[], wanted: string[]): { kept: string[]; freed: string[] } {
    const now = new Set(wanted.map(ElementClaims.keyOf));
    const freed = new Set<string>();
    for (const e of before) {
      const k = ElementClaims.keyOf(e);
      if (now.has(k) || this.owner.get(k) !== svc) continue;
      this.owner.delete(k);
      for (const w of this.waiting.get(k) ?? []) if (w !== svc) freed.add(w);
      this.waiting.delete(k);
    }
    const kept: string[] = [];
    for (const e of wanted) {
      const k = ElementClaims.keyOf(e);
      const cur = this.owner.get(k);
      if (cur === undefined || cur === svc) {
        this.owner.set(k, svc);
        kept.push(e);
      } else {
        let w = this.waiting.get(k);
        if (!w) this.waiting.set(k, (w = new Set()));
        w.add(svc);
      }
    }
    return { kept, freed: [...freed] };
  }
}
