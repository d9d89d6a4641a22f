export declare const NODE_FLAGS: readonly string[]
export declare const GATEWAY_HEAP_FLAGS: readonly string[]
export declare const GATEWAY_COMMANDS: readonly string[]
export declare const nodeFlags: (command: string | undefined) => string[]
