import OnnxFormat
