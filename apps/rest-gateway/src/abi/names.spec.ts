import { ConstructorFragment, ErrorFragment, EventFragment, FunctionFragment, ParamType } from 'ethers';
import { componentName, functionSignature, inputName, outputName } from './index';

describe('parameter names (research/rest-gateway.md §2.3 item 5, §2.5, §3.2)', () => {
  const named = ParamType.from({ name: 'amount', type: 'uint256' });
  const unnamed = ParamType.from({ name: '', type: 'uint256' });

  it('uses the declared name when there is one', () => {
    expect(inputName(named, 3)).toBe('amount');
    expect(outputName(named, 3)).toBe('amount');
    expect(componentName(named, 3)).toBe('amount');
  });

  it('numbers unnamed parameters by position: input, input1, …; output, output1, …; components 0, 1, …', () => {
    expect([0, 1, 2].map((i) => inputName(unnamed, i))).toEqual(['input', 'input1', 'input2']);
    expect([0, 1, 2].map((i) => outputName(unnamed, i))).toEqual(['output', 'output1', 'output2']);
    expect([0, 1].map((i) => componentName(unnamed, i))).toEqual(['0', '1']);
  });
});

describe('functionSignature (swagger summaries, research/rest-gateway.md §2.5)', () => {
  it.each([
    [FunctionFragment.from('function transfer(address to, uint256 amount) returns (bool)'), 'transfer(address,uint256)'],
    [FunctionFragment.from('function place((address maker, uint256[] amounts)[2] orders, string)'), 'place((address,uint256[])[2],string)'],
    [EventFragment.from('event Transfer(address indexed from, address indexed to, uint256 value)'), 'Transfer(address,address,uint256)'],
    [ErrorFragment.from('error Nope(uint8 code)'), 'Nope(uint8)'],
    [ConstructorFragment.from('constructor(string name, uint256 supply)'), 'constructor(string,uint256)'],
    [ConstructorFragment.from('constructor()'), 'constructor()'],
  ])('%#: %s', (fragment, signature) => {
    expect(functionSignature(fragment)).toBe(signature);
  });
});
