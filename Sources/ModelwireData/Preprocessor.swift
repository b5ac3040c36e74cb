/// What a model does to raw table columns before its numeric features: imputation of missing
/// values, one-hot or ordinal encoding of categories, optional missing-value indicators, as
/// scikit-learn's `ColumnTransformer` of `SimpleImputer` + `OneHotEncoder` / `OrdinalEncoder`
/// would, but stored in the model file so the served model takes raw rows.
///
/// Fitted once on training rows (``fit(_:options:)``) and then applied to any table with the same
/// columns (``encode(_:)``); the features it produces are named by ``featureNames``, and each raw
/// column's features are the range ``featureGroups`` gives it.
public struct Preprocessor: Sendable, Equatable {
    /// How categories become numbers.
    public enum Encoding: Sendable, Hashable {
        /// One 0/1 feature per kept category (and one for "other" when categories were capped).
        case oneHot
        /// One feature holding the category's index in the sorted category list.
        case ordinal
    }

    /// What a category never seen in training does at predict time.
    public enum UnknownCategoryPolicy: Sendable, Hashable {
        /// Encoded as no category: all one-hot features 0 (or the "other" feature 1 when the
        /// column has one), ordinal -1.
        case ignore
        /// The rows are refused with a `.unknownCategory` error naming the column and value.
        /// A one-hot column with "other" still encodes such a value as "other": the model keeps
        /// only the frequent categories, so it cannot tell a rare training category from a new one.
        case error
    }

    /// How a missing value is filled.
    public enum Imputation: Sendable, Hashable {
        /// The training mean (numeric columns only).
        case mean
        /// The training median (numeric columns only).
        case median
        /// The most frequent training value (ties: the smallest number, or the first text in sorted order).
        case mostFrequent
        /// A fixed value: ``Options/numericFill`` or ``Options/categoricalFill``.
        case constant
    }

    /// How to fit: which columns are which, and the strategies. Defaults follow scikit-learn's, but for
    /// the one-hot cap (20 features per column here; scikit-learn caps nothing by default).
    public struct Options: Sendable, Hashable {
        /// Columns to treat as categorical even when they hold numbers (their text is the category).
        public var categorical: [String]
        /// Columns to treat as numbers even when they hold text (every present value must parse).
        public var numeric: [String]
        /// Columns to leave out of the model.
        public var drop: [String]
        /// How categories are encoded; one-hot by default.
        public var encoding: Encoding
        /// One-hot only: the most features one column may produce. Beyond it the most frequent
        /// `maxCategories - 1` categories are kept and the rest share an "other" feature. Default 20.
        public var maxCategories: Int
        /// Unknown categories at predict time; ignored by default.
        public var unknownCategories: UnknownCategoryPolicy
        /// Missing numbers: the mean by default.
        public var numericImputation: Imputation
        /// The fill of `.constant` numeric imputation; default 0.
        public var numericFill: Float
        /// Missing categories: the most frequent by default (`.mean` and `.median` are refused).
        public var categoricalImputation: Imputation
        /// The fill of `.constant` categorical imputation (a category of its own); default `missing`.
        public var categoricalFill: String
        /// Adds a 0/1 feature after each column that had missing values in training, 1 where the value was missing.
        public var missingIndicators: Bool

        /// Creates options; every argument has the default documented on its property.
        public init(
            categorical: [String] = [],
            numeric: [String] = [],
            drop: [String] = [],
            encoding: Encoding = .oneHot,
            maxCategories: Int = 20,
            unknownCategories: UnknownCategoryPolicy = .ignore,
            numericImputation: Imputation = .mean,
            numericFill: Float = 0,
            categoricalImputation: Imputation = .mostFrequent,
            categoricalFill: String = "missing",
            missingIndicators: Bool = false
        ) {
            self.categorical = categorical
            self.numeric = numeric
            self.drop = drop
            self.encoding = encoding
            self.maxCategories = maxCategories
            self.unknownCategories = unknownCategories
            self.numericImputation = numericImputation
            self.numericFill = numericFill
            self.categoricalImputation = categoricalImputation
            self.categoricalFill = categoricalFill
            self.missingIndicators = missingIndicators
        }
    }

    /// One raw input column as fitted.
    public struct Column: Sendable, Equatable {
        /// What the column is and how it is filled.
        public enum Kind: Sendable, Equatable {
            /// Numbers (floats, integers, booleans as 0/1, or text parsed as numbers); missing
            /// values become `fill`. One feature.
            case numeric(fill: Float)
            /// Categories (text, or numbers as their shortest text); missing values become `fill`.
            /// One-hot: one feature per entry of `categories` in order, then one for "other" if
            /// `other`. Ordinal: one feature, the index into `categories` (sorted).
            case categorical(categories: [String], other: Bool, fill: String)
        }

        /// The raw column's name.
        public var name: String
        /// Numeric or categorical, with its fitted state.
        public var kind: Kind
        /// Whether a 0/1 missing-value indicator feature follows the column's own features.
        public var indicator: Bool

        /// Creates a fitted column.
        public init(name: String, kind: Kind, indicator: Bool) {
            self.name = name
            self.kind = kind
            self.indicator = indicator
        }
    }

    /// The raw input columns the model takes, in order (dropped columns are not among them).
    public var columns: [Column]
    /// How categorical columns are encoded.
    public var encoding: Encoding
    /// What unknown categories do at predict time.
    public var unknownCategories: UnknownCategoryPolicy

    /// Creates a fitted preprocessor (as read from a model file).
    public init(columns: [Column], encoding: Encoding, unknownCategories: UnknownCategoryPolicy) {
        self.columns = columns
        self.encoding = encoding
        self.unknownCategories = unknownCategories
    }

    /// Whether some column is categorical (rows then need text, so a float matrix cannot carry them).
    public var hasCategoricalColumns: Bool {
        self.columns.contains { if case .categorical = $0.kind { true } else { false } }
    }
}
