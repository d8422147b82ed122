/** The upstream names the internal client knows (`InternalClientModule.forRoot({ upstreams })`). */
export const BILLING_UPSTREAM = 'billing';
/** See {@link BILLING_UPSTREAM}. */
export const FILESYSTEM_UPSTREAM = 'filesystem';
