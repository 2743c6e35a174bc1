import { describe, expect, it } from "vitest";
import { searchLbs, sortLbs, type LbLike, type SortKey } from "./lb";
import { filterLbs, lbKeys, orderLbs } from "./lblist";

const lb = (over: Partial<LbLike>): LbLike => ({
  id: "id-" + (over.name ?? "x"),
  name: "x",
  status: "active",
  ip: "",
  region: { slug: "nyc3", name: "New York 3" },
  droplet_count: 0,
  passthrough: false,
  tag: "",
  redirect_http_to_https: false,
  enable_proxy_protocol: false,
  ...over,
});

const lbs = [
  lb({ name: "shop", ip: "10.0.0.20", tag: "web", droplet_count: 3 }),
  lb({ name: "blog", ip: "10.0.0.3", region: { slug: "ams3", name: "Amsterdam 3" } }),
  lb({ name: "api", ip: "", status: "new", droplet_count: 1 }),
  lb({ name: "Zeta", ip: "10.0.0.3", droplet_count: 1 }),
  lb({ name: "alpha", ip: "192.168.0.1", status: "errored", tag: "shop" }),
];

describe("filterLbs and orderLbs agree with searchLbs and sortLbs", () => {
  it("searches the same fields", () => {
    for (const q of ["AMS", "web", " ", "", "10.0.0.3", "new", "id-api", "york", "shop", "nothing"]) {
      expect(filterLbs(lbs, q).map((l) => l.name), q).toEqual(searchLbs(lbs, q).map((l) => l.name));
    }
  });

  it("sorts the same way", () => {
    for (const key of ["name", "status", "ip", "region", "droplets"] as SortKey[]) {
      for (const asc of [true, false]) {
        expect(orderLbs(lbs, key, asc).map((l) => l.name), `${key} ${asc}`).toEqual(
          sortLbs(lbs, key, asc).map((l) => l.name),
        );
      }
    }
  });

  it("an empty query gives the list itself back (clearing the filter filters nothing)", () => {
    expect(filterLbs(lbs, "")).toBe(lbs);
    expect(filterLbs(lbs, "   ")).toBe(lbs);
  });

  it("a query never matches across two fields", () => {
    // name "blog" followed by ip "10.0.0.3": "blog10" is in neither.
    expect(filterLbs(lbs, "blog10")).toEqual([]);
  });
});

describe("lbKeys", () => {
  it("is computed once per object", () => {
    const one = lb({ name: "Once" });
    const k = lbKeys(one);
    expect(lbKeys(one)).toBe(k);
    expect(k.name).toBe("once");
    // An equal but new object (a changed one, after lib/merge) gets its own keys.
    expect(lbKeys({ ...one })).not.toBe(k);
  });

  // How fast is ui_bench's to say (timings in a test only flake on a shared machine).
  it("filters 1,000 load balancers, each keystroke narrowing, and clears to the whole list", () => {
    const big = Array.from({ length: 1000 }, (_, i) =>
      lb({ name: `lb-${i}`, ip: `10.0.${i >> 8}.${i & 255}`, droplet_count: i }),
    );
    const sorted = orderLbs(big, "name", true);
    const counts = ["l", "lb", "lb-", "lb-9", "lb-99", "lb-999"].map((q) => filterLbs(sorted, q).length);
    expect(counts).toEqual([1000, 1000, 1000, 111, 11, 1]);
    expect(filterLbs(sorted, "lb-999").map((l) => l.name)).toEqual(["lb-999"]);
    expect(filterLbs(sorted, "")).toBe(sorted);
  });
});
