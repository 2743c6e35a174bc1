// Bumped whenever the app has tried to change a load balancer (an apply, a create, a delete,
// droplets added or removed), success or not: a failed call may still have changed something.
// Views that keep results derived from the load balancers (the Certificates view's termination
// comparison) use it to know theirs may be out of date.
export const lbChanges = $state({ value: 0 });

export function lbChanged(): void {
  lbChanges.value++;
}
