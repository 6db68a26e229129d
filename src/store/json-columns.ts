/** How a dialect keeps JSON columns: SQLite as text, PostgreSQL as jsonb. */
export interface JsonColumns {
  /** A value as the dialect's column takes it. */
  toJson(value: unknown): unknown;
  /** A value as the dialect's column gives it back. */
  fromJson<T>(value: unknown): T;
}

export const SQLITE_JSON: JsonColumns = {
  toJson: (value) => JSON.stringify(value),
  fromJson: <T>(value: unknown) => JSON.parse(value as string) as T,
};

export const POSTGRES_JSON: JsonColumns = {
  // pg would send a JS array as a PostgreSQL array; as text it is cast to jsonb, and the driver parses jsonb on the way out.
  toJson: (value) => JSON.stringify(value),
  fromJson: <T>(value: unknown) => value as T,
};
