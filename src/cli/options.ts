/** Commander accumulator for repeatable options. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A commander flag (`--keep-staging`) as the text the shared parsers read. */
export const flag = (value: boolean | undefined) => (value ? 'true' : undefined);
