@main
struct ModelwireCommand {
    static func main() {}
}
