@_exported import OnnxFormat
@_exported import OnyxIR
@_exported import OnyxPlanner
@_exported import OnyxKernels
@_exported import OnyxBuilder
@_exported import OnyxRuntime
