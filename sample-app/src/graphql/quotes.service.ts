import { Injectable } from '@nestjs/common';
import type { Quote } from './quote.model.js';

/** The sample's quotes, votes counted in memory (per process, lost on restart). */
@Injectable()
export class QuotesService {
  private readonly quotes = new Map<string, Quote>(
    [
      {
        id: '1',
        text: 'Simplicity is prerequisite for reliability.',
        author: 'Edsger W. Dijkstra',
      },
      { id: '2', text: 'Premature optimization is the root of all evil.', author: 'Donald Knuth' },
      { id: '3', text: 'Make it work, make it right, make it fast.', author: 'Kent Beck' },
    ].map((quote) => [quote.id, { ...quote, votes: 0 }]),
  );

  find(id: string): Quote | undefined {
    const quote = this.quotes.get(id);
    return quote === undefined ? undefined : { ...quote };
  }

  vote(id: string): Quote | undefined {
    const quote = this.quotes.get(id);
    if (quote === undefined) return undefined;
    quote.votes++;
    return { ...quote };
  }

  /** Stands for slow work (a model call, a join) that deserves a limit of its own. */
  explain(quote: Quote): string {
    return `${quote.text.split(' ').length} words by ${quote.author}, ${quote.votes} votes so far.`;
  }
}
