import ModelwireData
import Testing

/// A float column where NaN marks a missing value.
private func floats(_ name: String, _ values: [Float]) -> DataTable.Column {
    DataTable.Column(name: name, values: .floats(values))
}

/// A text column where `nil` marks a missing value.
private func strings(_ name: String, _ values: [String?]) -> DataTable.Column {
    let missing = values.map { $0 == nil }
    return DataTable.Column(
        name: name,
        values: .strings(values.map { $0 ?? "" }),
        missing: missing.contains(true) ? missing : []
    )
}

/// The fitted kind of the column named `name`.
private func kind(_ p: Preprocessor, _ name: String) -> Preprocessor.Column.Kind? {
    p.columns.first { $0.name == name }?.kind
}

@Suite struct PreprocessorFitTests {
    /// Present values 4 1 2 10 8 (odd count, no repeat) and 5 1 5 2 (even count).
    private let numbers = try! DataTable(columns: [
        floats("e", [4, 1, .nan, 2, 10, 8]), floats("o", [5, 1, .nan, 5, 2, .nan]),
    ])

    @Test(
        "numeric fills",
        arguments: [
            (Preprocessor.Imputation.mean, 5, 3.25),
            (.median, 4, 3.5),  // o: the mean of 2 and 5
            (.mostFrequent, 1, 5),  // e: all tie, the smallest
            (.constant, -1, -1),
        ] as [(Preprocessor.Imputation, Float, Float)]
    )
    func numericFill(imputation: Preprocessor.Imputation, e: Float, o: Float) throws {
        let p = try Preprocessor.fit(self.numbers, options: .init(numericImputation: imputation, numericFill: -1))
        #expect(kind(p, "e") == .numeric(fill: e))
        #expect(kind(p, "o") == .numeric(fill: o))
    }

    @Test func medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() throws {
        let t = try DataTable(columns: [floats("x", [8, .nan, 1, 3, 2])])
        let p = try Preprocessor.fit(t, options: .init(numericImputation: .median))
        #expect(kind(p, "x") == .numeric(fill: 2.5))
        let mean = try Preprocessor.fit(t, options: .init())
        #expect(kind(mean, "x") == .numeric(fill: 3.5))
    }

    @Test func intsAndBoolsAreNumeric() throws {
        let t = try DataTable(columns: [
            .init(name: "i", values: .ints([1, 2, 6])), .init(name: "b", values: .bools([true, false, true])),
        ])
        let p = try Preprocessor.fit(t, options: .init())
        #expect(kind(p, "i") == .numeric(fill: 3))
        #expect(kind(p, "b") == .numeric(fill: Float(2.0 / 3.0)))
        #expect(p.featureNames == ["i", "b"])
        #expect(!p.hasCategoricalColumns)
    }

    @Test func categoricalFills() throws {
        let t = try DataTable(columns: [
            strings("c", ["b", "a", nil, "b", "c"]), strings("d", ["y", "x"] + [String?](repeating: "x", count: 3)),
        ])
        let frequent = try Preprocessor.fit(t, options: .init())
        #expect(kind(frequent, "c") == .categorical(categories: ["a", "b", "c"], other: false, fill: "b"))
        let constant = try Preprocessor.fit(t, options: .init(categoricalImputation: .constant, categoricalFill: "?"))
        // The fill is a category when the column had gaps, and only then.
        #expect(kind(constant, "c") == .categorical(categories: ["?", "a", "b", "c"], other: false, fill: "?"))
        #expect(kind(constant, "d") == .categorical(categories: ["x", "y"], other: false, fill: "?"))
        #expect(frequent.hasCategoricalColumns)
    }

    @Test func mostFrequentTiesTakeTheFirstInSortedOrder() throws {
        let t = try DataTable(columns: [strings("c", ["z", "y", nil]), floats("x", [3, 2, .nan])])
        let p = try Preprocessor.fit(t, options: .init(numericImputation: .mostFrequent))
        #expect(kind(p, "c") == .categorical(categories: ["y", "z"], other: false, fill: "y"))
        #expect(kind(p, "x") == .numeric(fill: 2))
    }

    /// a x3, c x2, d x2, b x1, e x1.
    private let letters = try! DataTable(columns: [
        strings("k", ["e", "a", "d", "c", "a", "b", "d", "c", "a"])
    ])

    @Test func oneHotCapKeepsTheMostFrequentAndOther() throws {
        let p = try Preprocessor.fit(self.letters, options: .init(maxCategories: 3))
        // a (3), then c before d (tied at 2, sorted order); the rest share "other".
        #expect(kind(p, "k") == .categorical(categories: ["a", "c"], other: true, fill: "a"))
        #expect(p.featureNames == ["k=a", "k=c", "k=(other)"])
        let four = try Preprocessor.fit(self.letters, options: .init(maxCategories: 4))
        #expect(kind(four, "k") == .categorical(categories: ["a", "c", "d"], other: true, fill: "a"))
        let uncapped = try Preprocessor.fit(self.letters, options: .init(maxCategories: 5))
        #expect(kind(uncapped, "k") == .categorical(categories: ["a", "b", "c", "d", "e"], other: false, fill: "a"))
    }

    @Test func ordinalKeepsAllCategoriesSorted() throws {
        let p = try Preprocessor.fit(self.letters, options: .init(encoding: .ordinal, maxCategories: 2))
        #expect(kind(p, "k") == .categorical(categories: ["a", "b", "c", "d", "e"], other: false, fill: "a"))
        #expect(p.featureNames == ["k"])
        #expect(p.encoding == .ordinal)
    }

    @Test func indicatorsOnlyForColumnsWithGaps() throws {
        let t = try DataTable(columns: [
            floats("x", [1, .nan]), floats("y", [1, 2]), strings("c", [nil, "a"]), strings("d", ["a", "b"]),
        ])
        let p = try Preprocessor.fit(t, options: .init(missingIndicators: true))
        #expect(p.columns.map(\.indicator) == [true, false, true, false])
        #expect(p.featureNames == ["x", "x (missing)", "y", "c=a", "c (missing)", "d=a", "d=b"])
        #expect(p.featureGroups == [0..<2, 2..<3, 3..<5, 5..<7])
        let without = try Preprocessor.fit(t, options: .init())
        #expect(without.columns.map(\.indicator) == [false, false, false, false])
    }

    @Test func dropCategoricalAndNumericOverrides() throws {
        let t = try DataTable(columns: [
            .init(name: "id", values: .ints([1, 2, 3])),
            .init(name: "zip", values: .ints([2134, 90210, 2134])),
            floats("grade", [1, 2.5, 1]),
            .init(name: "flag", values: .bools([true, false, true])),
            strings("s", ["1", "2.5", nil]),
        ])
        let p = try Preprocessor.fit(
            t,
            options: .init(categorical: ["zip", "grade", "flag"], numeric: ["s"], drop: ["id"])
        )
        #expect(p.columns.map(\.name) == ["zip", "grade", "flag", "s"])
        #expect(kind(p, "zip") == .categorical(categories: ["2134", "90210"], other: false, fill: "2134"))
        #expect(kind(p, "grade") == .categorical(categories: ["1", "2.5"], other: false, fill: "1"))
        #expect(kind(p, "flag") == .categorical(categories: ["false", "true"], other: false, fill: "true"))
        #expect(kind(p, "s") == .numeric(fill: 1.75))
    }

    @Test func refusalsNameTheColumn() throws {
        let t = try DataTable(columns: [floats("x", [1, 2]), strings("s", ["1", "abc"])])
        func refusal(_ options: Preprocessor.Options, _ table: DataTable? = nil) -> DatasetError? {
            #expect(throws: DatasetError.self) { try Preprocessor.fit(table ?? t, options: options) }
        }
        for option in [
            Preprocessor.Options(categorical: ["nope"]), .init(numeric: ["nope"]), .init(drop: ["nope"]),
        ] {
            let error = refusal(option)
            #expect(error?.code == .missingColumn)
            #expect(error?.message.contains("'nope'") == true)
            #expect(error?.message.contains("(x, s)") == true)
        }
        let both = refusal(.init(categorical: ["x"], numeric: ["x"]))
        #expect(both?.code == .columnType)
        #expect(both?.message == "column 'x' is listed as both categorical and numeric")
        #expect(refusal(.init(maxCategories: 1))?.code == .columnType)
        let median = refusal(.init(categoricalImputation: .median))
        #expect(median?.code == .columnType)
        #expect(median?.message.contains("most_frequent or constant") == true)
        #expect(refusal(.init(categoricalImputation: .mean))?.code == .columnType)
        #expect(refusal(.init(drop: ["x", "s"]))?.code == .emptyFile)

        let text = refusal(.init(numeric: ["s"]))
        #expect(text?.code == .nonNumeric)
        #expect(text?.message == "column 's', row 2: 'abc' is not a number")

        let empty = refusal(.init(), try DataTable(columns: [floats("x", [1, 2]), strings("gap", [nil, nil])]))
        #expect(empty?.code == .noValues)
        #expect(empty?.message.contains("'gap'") == true)
        let emptyNumbers = refusal(.init(), try DataTable(columns: [floats("nan", [.nan])]))
        #expect(emptyNumbers?.code == .noValues)
        #expect(emptyNumbers?.message.contains("'nan'") == true)
        let infinite = refusal(.init(), try DataTable(columns: [floats("inf", [1, .infinity])]))
        #expect(infinite?.code == .nonFinite)
        #expect(infinite?.message == "column 'inf', row 2: 'inf' is not finite")
    }
}

@Suite struct PreprocessorEncodeTests {
    /// age: mean 40, indicator; color: tie, so "blue", indicator; flag: mean 2/3.
    private let training = try! DataTable(columns: [
        floats("age", [30, .nan, 50]),
        strings("color", ["red", "blue", nil]),
        .init(name: "flag", values: .bools([true, false, true])),
    ])

    private func fitted(_ options: Preprocessor.Options = .init(missingIndicators: true)) throws -> Preprocessor {
        try Preprocessor.fit(self.training, options: options)
    }

    @Test func encodesAMixedTable() throws {
        let p = try self.fitted()
        #expect(p.featureNames == ["age", "age (missing)", "color=blue", "color=red", "color (missing)", "flag"])
        #expect(p.featureGroups == [0..<2, 2..<5, 5..<6])
        #expect(
            try p.encode(self.training) == [
                30, 0, 0, 1, 0, 1,
                40, 1, 1, 0, 0, 0,
                50, 0, 1, 0, 1, 1,
            ]
        )
    }

    @Test func columnsByNameInAnyOrderWithExtras() throws {
        let p = try self.fitted()
        let t = try DataTable(columns: [
            .init(name: "flag", values: .bools([false, true])),
            strings("extra", ["zzz", "y"]),
            strings("color", ["red", nil]),
            .init(name: "age", values: .ints([20, 70])),
        ])
        #expect(try p.encode(t) == [20, 0, 0, 1, 0, 0, 70, 0, 1, 0, 1, 1])
    }

    @Test func missingAtPredictTime() throws {
        let p = try self.fitted()
        let t = try DataTable(columns: [
            .init(name: "age", values: .floats([.nan]), missing: [true]),
            strings("color", [nil]),
            .init(name: "flag", values: .bools([false]), missing: [true]),
        ])
        #expect(try p.encode(t) == [40, 1, 1, 0, 1, Float(2.0 / 3.0)])
    }

    @Test func unknownCategoryIgnoredOrRefused() throws {
        let t = try DataTable(columns: [
            floats("age", [1, 2]), strings("color", ["blue", "green"]), floats("flag", [0, 1]),
        ])
        let ignore = try self.fitted(.init())
        #expect(try ignore.encode(t) == [1, 1, 0, 0, 2, 0, 0, 1])
        let refuse = try self.fitted(.init(unknownCategories: .error))
        let error = #expect(throws: DatasetError.self) { try refuse.encode(t) }
        #expect(error?.code == .unknownCategory)
        #expect(
            error?.message == "column 'color', row 2: 'green' is not a category seen in training (2 known: blue, red)"
        )
        let ordinal = try self.fitted(.init(encoding: .ordinal))
        #expect(ordinal.featureNames == ["age", "color", "flag"])
        #expect(try ordinal.encode(t) == [1, 0, 0, 2, -1, 1])
    }

    @Test func unknownCategoryListsAtMostTenKnown() throws {
        let names = (0..<12).map { "c\($0)" }
        let p = try Preprocessor.fit(
            try DataTable(columns: [strings("k", names)]),
            options: .init(maxCategories: 20, unknownCategories: .error)
        )
        let error = #expect(throws: DatasetError.self) {
            try p.encode(try DataTable(columns: [strings("k", ["new"])]))
        }
        #expect(error?.message.hasSuffix("(12 known: c0, c1, c10, c11, c2, c3, c4, c5, c6, c7, ...)") == true)
    }

    @Test func cappedColumnSendsRareAndUnknownValuesToOther() throws {
        let t = try DataTable(columns: [strings("k", ["a", "a", "b", "c", "d"])])
        for policy in [Preprocessor.UnknownCategoryPolicy.ignore, .error] {
            let p = try Preprocessor.fit(t, options: .init(maxCategories: 2, unknownCategories: policy))
            #expect(p.featureNames == ["k=a", "k=(other)"])
            let rows = try DataTable(columns: [strings("k", ["a", "c", "new"])])
            #expect(try p.encode(rows) == [1, 0, 0, 1, 0, 1])
        }
    }

    @Test func aFillOutsideTheCategoriesIsNoCategory() throws {
        let t = try DataTable(columns: [strings("k", ["a", "b"])])
        let p = try Preprocessor.fit(
            t,
            options: .init(unknownCategories: .error, categoricalImputation: .constant, categoricalFill: "none")
        )
        #expect(try p.encode(try DataTable(columns: [strings("k", [nil, "b"])])) == [0, 0, 0, 1])
        let ordinal = try Preprocessor.fit(t, options: .init(encoding: .ordinal, categoricalImputation: .constant))
        #expect(try ordinal.encode(try DataTable(columns: [strings("k", [nil, "b"])])) == [-1, 1])
    }

    @Test func numericColumnGivenText() throws {
        let p = try self.fitted()
        let parses = try DataTable(columns: [
            strings("age", ["25", nil]), strings("color", ["red", "red"]), floats("flag", [1, 0]),
        ])
        #expect(try p.encode(parses) == [25, 0, 0, 1, 0, 1, 40, 1, 0, 1, 0, 0])
        let text = try DataTable(columns: [
            strings("age", ["1", "2", "abc"]), strings("color", ["red", "red", "red"]), floats("flag", [1, 0, 1]),
        ])
        let error = #expect(throws: DatasetError.self) { try p.encode(text) }
        #expect(error?.code == .columnType)
        #expect(error?.message == "column 'age' holds text ('abc', row 3) but the model takes numbers")
    }

    @Test func missingColumnIsNamed() throws {
        let p = try self.fitted()
        let error = #expect(throws: DatasetError.self) {
            try p.encode(try DataTable(columns: [floats("age", [1]), floats("flag", [1])]))
        }
        #expect(error?.code == .missingColumn)
        #expect(error?.message.contains("'color'") == true)
    }

    @Test func categoricalColumnTakesNumbersThroughTheirText() throws {
        let t = try DataTable(columns: [
            .init(name: "zip", values: .ints([2134, 90210])), .init(name: "on", values: .bools([true, false])),
            floats("g", [1, 2.5]),
        ])
        let p = try Preprocessor.fit(t, options: .init(categorical: ["zip", "on", "g"]))
        #expect(p.featureNames == ["zip=2134", "zip=90210", "on=false", "on=true", "g=1", "g=2.5"])
        let rows = try DataTable(columns: [
            strings("zip", ["90210", "2134"]), strings("on", ["true", "false"]), floats("g", [2.5, 1]),
        ])
        #expect(try p.encode(rows) == [0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0])
        let numbers = try DataTable(columns: [
            floats("zip", [2134, 7]), .init(name: "on", values: .ints([1, 0])),
            .init(name: "g", values: .ints([1, 3])),
        ])
        // 2134.0 is "2134"; the integer 1 is not the category "true"; 3 is unknown.
        #expect(try p.encode(numbers) == [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func noRows() throws {
        let p = try self.fitted()
        let empty = try DataTable(columns: [floats("age", []), strings("color", []), floats("flag", [])])
        #expect(try p.encode(empty) == [])
    }

    /// scikit-learn, worked by hand:
    /// `ColumnTransformer([("num", SimpleImputer(strategy="median"), ["x"]),
    ///   ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
    ///   OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=3)), ["c"])])`.
    /// x's median of [1, 3, 8, 2] is 2.5. c after imputation is a a b b c missing: a and b are
    /// kept, c and "missing" are infrequent, and so is the unknown "z".
    @Test func matchesScikitLearn() throws {
        let t = try DataTable(columns: [
            floats("x", [1, .nan, 3, 8, 2, .nan]), strings("c", ["a", "b", nil, "a", "b", "c"]),
        ])
        let p = try Preprocessor.fit(
            t,
            options: .init(maxCategories: 3, numericImputation: .median, categoricalImputation: .constant)
        )
        #expect(
            try p.encode(t) == [
                1, 1, 0, 0,
                2.5, 0, 1, 0,
                3, 0, 0, 1,
                8, 1, 0, 0,
                2, 0, 1, 0,
                2.5, 0, 0, 1,
            ]
        )
        #expect(try p.encode(try DataTable(columns: [floats("x", [0]), strings("c", ["z"])])) == [0, 0, 0, 1])
        // OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1) after a most_frequent
        // SimpleImputer (a and b tie: the smallest, a, fills).
        let ordinal = try Preprocessor.fit(t, options: .init(encoding: .ordinal, numericImputation: .median))
        #expect(
            try ordinal.encode(try DataTable(columns: [floats("x", [.nan, 4, 4]), strings("c", [nil, "c", "z"])]))
                == [2.5, 0, 4, 2, 4, -1]
        )
    }
}
