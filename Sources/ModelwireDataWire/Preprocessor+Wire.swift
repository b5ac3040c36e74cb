import ModelwireCodec
import ModelwireData

/// The mapping between a fitted ``Preprocessor`` and `V1.Preprocessing` (the model file's), and
/// between ``Preprocessor/Options`` and `V1.PreprocessingSpec` (the Train request's).
extension V1.Preprocessing {
    /// The wire form of a fitted preprocessor.
    public init(_ preprocessor: Preprocessor) {
        self.init(
            columns: preprocessor.columns.map { column in
                let kind: V1.PreprocessedColumn.Kind =
                    switch column.kind {
                    case .numeric(let fill): .numeric(V1.NumericColumn(fill: fill))
                    case .categorical(let categories, let other, let fill):
                        .categorical(V1.CategoricalColumn(categories: categories, other: other, fill: fill))
                    }
                return V1.PreprocessedColumn(name: column.name, kind: kind, indicator: column.indicator)
            },
            encoding: preprocessor.encoding == .ordinal ? .ordinal : .oneHot,
            unknownCategories: preprocessor.unknownCategories == .error ? .error : .ignore
        )
    }
}

extension Preprocessor {
    /// A preprocessor from a model file, validated: every column typed and named once, the
    /// encoding and policy known, categories distinct.
    /// - Throws: `DatasetError` naming the column at fault.
    public init(validating wire: V1.Preprocessing) throws(DatasetError) {
        guard wire.encoding.isKnown, wire.unknownCategories.isKnown else {
            throw DatasetError(
                .columnType,
                message: "unknown encoding \(wire.encoding) or unknown-category policy \(wire.unknownCategories)"
            )
        }
        guard !wire.columns.isEmpty else {
            throw DatasetError(.emptyFile, message: "the preprocessing has no columns")
        }
        var names = Set<String>()
        var columns = [Column]()
        for column in wire.columns {
            guard !column.name.isEmpty, names.insert(column.name).inserted else {
                throw DatasetError(
                    .duplicateName,
                    message: "preprocessing column '\(column.name)' is unnamed or repeated"
                )
            }
            switch column.kind {
            case .numeric(let n)?:
                columns.append(Column(name: column.name, kind: .numeric(fill: n.fill), indicator: column.indicator))
            case .categorical(let c)?:
                guard Set(c.categories).count == c.categories.count else {
                    throw DatasetError(.duplicateName, message: "column '\(column.name)' lists a category twice")
                }
                guard !c.categories.isEmpty || c.other else {
                    throw DatasetError(.noValues, message: "column '\(column.name)' has no categories")
                }
                columns.append(
                    Column(
                        name: column.name,
                        kind: .categorical(categories: c.categories, other: c.other, fill: c.fill),
                        indicator: column.indicator
                    )
                )
            case nil:
                throw DatasetError(
                    .columnType,
                    message: "preprocessing column '\(column.name)' is neither numeric nor categorical"
                )
            }
        }
        self.init(
            columns: columns,
            encoding: wire.encoding == .ordinal ? .ordinal : .oneHot,
            unknownCategories: wire.unknownCategories == .error ? .error : .ignore
        )
    }
}

extension V1.PreprocessingSpec {
    /// The wire form of fitting options (defaults travel as zero values).
    public init(_ options: Preprocessor.Options) {
        let defaults = Preprocessor.Options()
        self.init(
            categorical: options.categorical,
            numeric: options.numeric,
            drop: options.drop,
            encoding: options.encoding == .ordinal ? .ordinal : .oneHot,
            maxCategories: options.maxCategories == defaults.maxCategories
                ? 0 : UInt32(clamping: options.maxCategories),
            unknownCategories: options.unknownCategories == .error ? .error : .ignore,
            numericImputation: V1.Imputation(options.numericImputation),
            numericFill: options.numericFill,
            categoricalImputation: V1.Imputation(options.categoricalImputation),
            categoricalFill: options.categoricalFill == defaults.categoricalFill ? "" : options.categoricalFill,
            missingIndicators: options.missingIndicators
        )
    }
}

extension V1.Imputation {
    /// The wire value of an imputation strategy.
    public init(_ imputation: Preprocessor.Imputation) {
        self =
            switch imputation {
            case .mean: .mean
            case .median: .median
            case .mostFrequent: .mostFrequent
            case .constant: .constant
            }
    }
}

extension Preprocessor.Options {
    /// Fitting options from their wire form; zero values mean the defaults.
    /// - Throws: `DatasetError` (`.columnType`) for an unknown enum value, naming the field.
    public init(validating wire: V1.PreprocessingSpec) throws(DatasetError) {
        func imputation(
            _ value: V1.Imputation,
            default fallback: Preprocessor.Imputation,
            field: String
        )
            throws(DatasetError) -> Preprocessor.Imputation
        {
            switch value {
            case .default: return fallback
            case .mean: return .mean
            case .median: return .median
            case .mostFrequent: return .mostFrequent
            case .constant: return .constant
            default:
                throw DatasetError(.columnType, message: "preprocessing.\(field): unknown value \(value.rawValue)")
            }
        }
        guard wire.encoding.isKnown else {
            throw DatasetError(.columnType, message: "preprocessing.encoding: unknown value \(wire.encoding.rawValue)")
        }
        guard wire.unknownCategories.isKnown else {
            throw DatasetError(
                .columnType,
                message: "preprocessing.unknown_categories: unknown value \(wire.unknownCategories.rawValue)"
            )
        }
        let defaults = Preprocessor.Options()
        self.init(
            categorical: wire.categorical,
            numeric: wire.numeric,
            drop: wire.drop,
            encoding: wire.encoding == .ordinal ? .ordinal : .oneHot,
            maxCategories: wire.maxCategories == 0 ? defaults.maxCategories : Int(wire.maxCategories),
            unknownCategories: wire.unknownCategories == .error ? .error : .ignore,
            numericImputation: try imputation(wire.numericImputation, default: .mean, field: "numeric_imputation"),
            numericFill: wire.numericFill,
            categoricalImputation: try imputation(
                wire.categoricalImputation,
                default: .mostFrequent,
                field: "categorical_imputation"
            ),
            categoricalFill: wire.categoricalFill.isEmpty ? defaults.categoricalFill : wire.categoricalFill,
            missingIndicators: wire.missingIndicators
        )
    }
}
