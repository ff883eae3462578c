// Column definitions shared by every kind's table (NAME first, AGE usually last).
import type { TableColumn } from '../types.js';

export const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  priority: 0,
  description: 'Name must be unique within a namespace. It is required when creating resources and cannot be updated.',
};
export const ageColumn: TableColumn = {
  name: 'Age',
  type: 'string',
  priority: 0,
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

export const col = (name: string, type: TableColumn['type'], description: string, priority = 0): TableColumn => ({
  name,
  type,
  description,
  priority,
});

/** `<none>` for empty values, as kubectl prints them. */
export const orNone = (v: unknown): string => (v === undefined || v === null || v === '' ? '<none>' : String(v));
