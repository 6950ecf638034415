/** A user as everyone else sees them: the id that never changes and the name they chose. */
export interface UserRef {
  id: number;
  name: string;
}
