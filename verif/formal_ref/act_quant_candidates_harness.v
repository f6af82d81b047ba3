// Formal harnesses: the FP8 and NVFP4 candidates of one element of the activation quantizer
// (rtl/fgmp/act_quant.py units Fp8Candidate, BlockScale, Fp4Candidate, converted on their own as
// gate_fp8_candidate, gate_block_scale, gate_fp4_candidate) against fgmp_quant_ref.v.
//
// The units are wired as in ActQuantUnit with every stage loading every cycle, so a value x
// presented in cycle n has its q8 on the A2 register in cycle n + 2 and its q4 on the B2
// register in cycle n + 4. The registers start in any state and every input of every cycle is
// free; verif/formal.py unrolls the pipeline with `sat -seq` and checks the last step only,
// whose output depends on the inputs of the first step alone.

// q8 == E4M3(x / (6 * 2^k)) for every FP32 x and every 9-bit k (sat -seq 3 -prove-skip 2).
module act_quant_fp8_harness (
    input               clk,
    input  [31:0]       x,
    input  signed [8:0] k
);
    wire [7:0]        q8;
    wire [8:0]        x9;
    wire              xlo;
    wire signed [4:0] ekc;
    gate_fp8_candidate a (.clk(clk), .rst(1'b0), .x(x), .k(k), .ld1(1'b1), .ld2(1'b1),
                          .q8(q8), .x9(x9), .xlo(xlo), .ekc(ekc));
    wire [7:0] ref_q8;
    fp8_candidate_ref r8 (.x(x), .k(k), .q8(ref_q8));
    reg [7:0] q8_d1, q8_d2;
    always @(posedge clk) begin q8_d1 <= ref_q8; q8_d2 <= q8_d1; end
    always @* assert (q8 == q8_d2);
endmodule

// q4 == E2M1(x / (UE4M3(sc) * 2^k)) (sat -seq 5 -prove-skip 4) for every FP32 x that is not
// NaN, every 9-bit k and every block scale sc the element can meet: sc >= |q8| (the block scale
// is the maximum |q8| of the block, computed by ActQuantUnit from all 16 elements) and
// sc != 0x7F. sc is a free input presented with x and delayed to stage B1; BlockScale sees it as
// element 0 of a block whose other 15 codes are 0, so its own maximum returns sc. The condition
// sc >= |q8| reads the RTL's q8, which act_quant_fp8_harness proves equal to the reference.
module act_quant_fp4_harness (
    input               clk,
    input  [31:0]       x,
    input  signed [8:0] k,
    input  [6:0]        sc
);
    wire [7:0]        q8;
    wire [8:0]        x9;
    wire              xlo;
    wire signed [4:0] ekc;
    gate_fp8_candidate a (.clk(clk), .rst(1'b0), .x(x), .k(k), .ld1(1'b1), .ld2(1'b1),
                          .q8(q8), .x9(x9), .xlo(xlo), .ekc(ekc));

    reg [6:0] sc_d1, sc_d2;      // sc meets x's q8 at BlockScale's input
    reg       nan_d1, nan_d2;
    reg       sign_b1;           // x's sign at B1, as ActQuantUnit's q8 delay line gives it
    always @(posedge clk) begin
        sc_d1 <= sc;
        sc_d2 <= sc_d1;
        nan_d1 <= (x[30:23] == 8'hFF) && (x[22:0] != 0);
        nan_d2 <= nan_d1;
        sign_b1 <= q8[7];
    end
    wire [6:0]  sc_b1;
    wire [3:0]  ms, shs;
    wire [44:0] t;               // the seven E2M1 midpoints scaled by M_s (_midpoint_layout)
    gate_block_scale b (.clk(clk), .rst(1'b0), .q8({120'b0, 1'b0, sc_d2}), .ld(1'b1),
                        .sc(sc_b1), .ms(ms), .shs(shs), .t(t));
    wire [3:0] q4;
    gate_fp4_candidate c (.clk(clk), .rst(1'b0), .x9(x9), .xlo(xlo), .ekc(ekc), .ld1(1'b1),
                          .sign(sign_b1), .shs(shs), .t(t), .sc_zero(sc_b1 == 0), .ld2(1'b1),
                          .q4(q4));

    wire [3:0] ref_q4;
    fp4_candidate_ref r4 (.x(x), .k(k), .sc(sc), .q4(ref_q4));
    reg [3:0] q4_d1, q4_d2, q4_d3, q4_d4;
    reg       m_d3, m_d4;        // the element meets the block scale (decided at stage A2)
    always @(posedge clk) begin
        q4_d1 <= ref_q4;  q4_d2 <= q4_d1;  q4_d3 <= q4_d2;  q4_d4 <= q4_d3;
        m_d3 <= !nan_d2 && sc_d2 != 7'h7F && sc_d2 >= q8[6:0];
        m_d4 <= m_d3;
    end
    always @* assert (!m_d4 || q4 == q4_d4);
endmodule
