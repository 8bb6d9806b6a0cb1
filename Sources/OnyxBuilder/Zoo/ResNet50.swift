import OnyxIR

/// ResNet-50 (He et al. 2015, the torchvision layout): a 7x7 stride-2 stem with max pooling, four stages
/// of bottleneck blocks (1x1 reduce, 3x3 with the stage's stride, 1x1 expand by 4; a 1x1 projection on
/// the shortcut when the shape changes), global pooling and a classifier.
enum ResNet50 {
    static func bottleneck(_ b: inout NetworkBuilder, _ x: ValueID, _ inplanes: Int, _ planes: Int, stride: Int, project: Bool) -> ValueID {
        var y = b.relu(b.batchNorm2d(b.conv2d(x, inplanes, planes, kernel: 1, name: "conv1"), planes, name: "bn1"), name: "relu1")
        y = b.relu(b.batchNorm2d(b.conv2d(y, planes, planes, kernel: 3, stride: stride, name: "conv2"), planes, name: "bn2"), name: "relu2")
        y = b.batchNorm2d(b.conv2d(y, planes, planes * 4, kernel: 1, name: "conv3"), planes * 4, name: "bn3")
        let shortcut = project
            ? b.scope("downsample") { b in b.batchNorm2d(b.conv2d(x, inplanes, planes * 4, kernel: 1, stride: stride, name: "0"), planes * 4, name: "1") }
            : x
        return b.relu(b.add(y, shortcut, name: "add"), name: "relu3")
    }

    @Sendable static func build(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        var x = b.relu(b.batchNorm2d(b.conv2d(input, 3, 64, kernel: 7, stride: 2, name: "conv1"), 64, name: "bn1"), name: "relu")
        x = b.maxPool2d(x, kernel: 3, stride: 2, padding: 1, name: "maxpool")
        var inplanes = 64
        for (stage, (planes, blocks, stride)) in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)].enumerated() {
            x = b.scope("layer\(stage + 1)") { b -> ValueID in
                var y = x
                for i in 0 ..< blocks {
                    let cin = inplanes
                    y = b.scope("\(i)") { b in bottleneck(&b, y, cin, planes, stride: i == 0 ? stride : 1, project: i == 0) }
                    inplanes = planes * 4
                }
                return y
            }
        }
        let pooled = b.flatten(b.globalAveragePool(x, name: "avgpool"), name: "flatten")
        b.output(b.linear(pooled, 2048, classes, name: "fc"), name: "output")
    }
}
