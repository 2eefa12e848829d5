export interface AuthContext { userId: string }
